// The conformance matrix renderer on two small results.json files: what it merges, what the
// terminal form leaves out, and that the pages link traces and escape what they show.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runner/presentation/matrix.h"
#include "runner/runner_error.h"

namespace sockspec {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class MatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sockspec-matrix-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "native");
    fs::create_directories(dir_ / "gvisor" / "traces");
    write(dir_ / "native" / "results.json",
          {{"target", "native"},
           {"kernel", "6.18.44"},
           {"libc", "glibc 2.36"},
           {"seconds", 1.5},
           {"cases",
            {{{"name", "EagainTest.RecvOnEmpty/stream"}, {"status", "passed"}},
             {{"name", "BindTest.Abstract/dgram"}, {"status", "skipped"}, {"message", "no netns"}},
             {{"name", "ShutdownTest.Read/stream"}, {"status", "passed"}},
             {{"name", "SameTest.Everywhere/stream"}, {"status", "passed"}}}}});
    write(dir_ / "gvisor" / "results.json",
          {{"target", "gvisor"},
           {"target_version", "runsc version 0.0~20221219.0"},
           {"kernel", "4.4.0"},
           {"libc", "glibc 2.36"},
           {"seconds", 3.25},
           {"cases",
            {{{"name", "EagainTest.RecvOnEmpty/stream"},
              {"status", "failed"},
              {"message", "Expected <script>alert(\"x\")</script> & more"},
              {"traces", {"traces/EagainTest.RecvOnEmpty_stream.strace"}}},
             {{"name", "BindTest.Abstract/dgram"},
              {"status", "xfail"},
              {"message", "EINVAL"},
              {"expected", "gvisor: abstract dgram bind fails"}},
             {{"name", "SameTest.Everywhere/stream"}, {"status", "passed"}},
             {{"name", "ShutdownTest.Read/stream"}, {"status", "hung"}, {"message", "hung"}},
             {{"name", "GvisorOnly.Case/seqpacket"}, {"status", "passed"}}}}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& file, const nlohmann::json& doc) {
    std::ofstream(file) << doc.dump(2);
  }

  Matrix load() {
    return load_matrix({dir_ / "native" / "results.json", dir_ / "gvisor" / "results.json"});
  }

  fs::path dir_;
};

TEST_F(MatrixTest, MergesColumnsAndCases) {
  const Matrix m = load();
  ASSERT_EQ(m.columns.size(), 2u);
  EXPECT_EQ(m.columns[0].label, "native");
  EXPECT_EQ(m.columns[1].label, "gvisor");
  EXPECT_EQ(m.columns[0].target_version, "");  // missing in the file
  EXPECT_EQ(m.columns[0].counts.at("passed"), 3);
  EXPECT_EQ(m.columns[0].counts.at("skipped"), 1);
  EXPECT_EQ(m.columns[1].counts.at("failed"), 1);
  EXPECT_EQ(m.columns[1].counts.at("xfail"), 1);
  EXPECT_EQ(m.columns[1].counts.at("xpass"), 0);
  EXPECT_EQ(m.columns[1].counts.at("hung"), 1);
  EXPECT_EQ(m.case_names,
            (std::vector<std::string>{"EagainTest.RecvOnEmpty/stream", "BindTest.Abstract/dgram",
                                      "ShutdownTest.Read/stream", "SameTest.Everywhere/stream",
                                      "GvisorOnly.Case/seqpacket"}));
  EXPECT_EQ(m.cells.at("ShutdownTest.Read/stream")[1]->status, "hung");
  EXPECT_FALSE(m.cells.at("GvisorOnly.Case/seqpacket")[0].has_value());
  EXPECT_EQ(m.cells.at("BindTest.Abstract/dgram")[1]->expected,
            "gvisor: abstract dgram bind fails");
}

TEST_F(MatrixTest, TwoRunsOfOneTargetAreToldApartByKernel) {
  const Matrix m = load_matrix({dir_ / "native", dir_ / "native" / "results.json"});
  ASSERT_EQ(m.columns.size(), 2u);
  EXPECT_EQ(m.columns[0].label, "native (6.18.44)");
  EXPECT_EQ(m.columns[1].label, "native (6.18.44) #2");
}

TEST_F(MatrixTest, TerminalShowsOnlyDifferences) {
  const Matrix m = load();
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  write_matrix_text(m, out, /*color=*/false);
  std::fclose(out);
  const std::string text(buffer, size);
  std::free(buffer);
  EXPECT_THAT(text, HasSubstr("runsc version 0.0~20221219.0"));
  EXPECT_THAT(text, HasSubstr("EagainTest.RecvOnEmpty/stream"));
  EXPECT_THAT(text, HasSubstr("FAIL"));
  EXPECT_THAT(text, HasSubstr("BindTest.Abstract/dgram"));
  // A case that ran on one target only, and passed there, differs from nothing.
  EXPECT_THAT(text, Not(HasSubstr("GvisorOnly.Case/seqpacket")));
  EXPECT_THAT(text, Not(HasSubstr("SameTest.Everywhere")));
  // A hang is a failure of its own kind, always shown.
  EXPECT_THAT(text, HasSubstr("ShutdownTest.Read/stream"));
  EXPECT_THAT(text, HasSubstr("HUNG"));
  EXPECT_THAT(text, HasSubstr("2 cases identical on every target (pass) are not shown"));
  EXPECT_THAT(text, Not(HasSubstr("\033[")));
}

TEST_F(MatrixTest, MarkdownLinksTheTrace) {
  const std::string md = matrix_markdown(load(), dir_);
  EXPECT_THAT(md, HasSubstr("[FAIL](gvisor/traces/EagainTest.RecvOnEmpty_stream.strace)"));
  EXPECT_THAT(md, HasSubstr("| `SameTest.Everywhere/stream` | pass | pass |"));
}

TEST_F(MatrixTest, HtmlEscapesMessages) {
  const std::string html = matrix_html(load(), dir_ / "gvisor");
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"));
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, HasSubstr("href=\"traces/EagainTest.RecvOnEmpty_stream.strace\""));
  EXPECT_THAT(html, HasSubstr("expected: gvisor: abstract dgram bind fails"));
}

TEST_F(MatrixTest, MalformedFileIsNamed) {
  const fs::path bad = dir_ / "bad.json";
  std::ofstream(bad) << "{\"target\": \"native\", \"cases\": [";
  try {
    load_matrix({dir_ / "native" / "results.json", bad});
    FAIL() << "no RunnerError";
  } catch (const RunnerError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot read " + bad.string() + ": "));
    EXPECT_THAT(e.what(), Not(HasSubstr("\n")));
  }
  EXPECT_THROW(load_matrix({dir_ / "missing.json"}), RunnerError);
  write(bad, {{"target", "native"}, {"cases", {{{"name", "A.B"}, {"status", "maybe"}}}}});
  EXPECT_THROW(load_matrix({bad}), RunnerError);
}

}  // namespace
}  // namespace sockspec
