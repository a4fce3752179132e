#include "runner/presentation/reports.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runner/presentation/markup_escape.h"
#include "runner/runner_error.h"

namespace sockspec {

namespace {

std::ofstream open_report(const std::filesystem::path& path) {
  std::ofstream out(path);
  if (!out)
    throw RunnerError(fmt::format("cannot write {}; choose another --report dir", path.string()));
  return out;
}

std::string kernel_release() {
  utsname u{};
  ::uname(&u);
  return u.release;
}

// The failure in one line for a CI system's list view: GoogleTest's "file:line" lines left
// out, the rest joined ("Expected: fails with -1 EAGAIN; Actual: ...").
std::string one_line_summary(const std::string& message) {
  static const std::regex location(R"(^\S+:\d+$)");
  std::string out;
  std::stringstream lines(message);
  for (std::string line; std::getline(lines, line);) {
    line.erase(0, line.find_first_not_of(' '));
    if (line.empty() || std::regex_match(line, location)) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out.size() > 400 ? out.substr(0, 400) + "..." : out;
}

}  // namespace

void write_junit(const RunSummary& s, const std::filesystem::path& report_dir) {
  // One <testsuite> per GoogleTest suite, in the order cases ran.
  std::map<std::string, std::vector<const CaseResult*>> suites;
  std::vector<std::string> order;
  for (const auto& r : s.results) {
    const std::string suite = r.info.suite_part();
    if (!suites.contains(suite)) order.push_back(suite);
    suites[suite].push_back(&r);
  }
  auto count = [](const auto& results, Status status) {
    return std::count_if(results.begin(), results.end(),
                         [&](const auto* r) { return r->status == status; });
  };
  // JUnit has no expected failure and no interrupted case: they count as skipped.
  auto count_skipped = [&](const auto& results) {
    return count(results, Status::kSkipped) + count(results, Status::kExpectedFailure) +
           count(results, Status::kInterrupted);
  };
  auto count_failures = [](const auto& results) {
    return std::count_if(results.begin(), results.end(),
                         [](const auto* r) { return is_failure(r->status); });
  };
  std::vector<const CaseResult*> all;
  for (const auto& r : s.results) all.push_back(&r);

  std::ofstream out = open_report(report_dir / "junit.xml");
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << fmt::format(
      "<testsuites name=\"sockspec\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n",
      all.size(), count_failures(all), count_skipped(all), s.seconds);
  for (const auto& name : order) {
    const auto& results = suites[name];
    double seconds = 0;
    for (const auto* r : results) seconds += r->seconds;
    out << fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3f}\">\n",
        escape_markup(name), results.size(), count_failures(results), count_skipped(results),
        seconds);
    for (const auto* r : results) {
      out << fmt::format(
          "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\" file=\"{}\" line=\"{}\">\n",
          escape_markup(name), escape_markup(r->info.test_part()), r->seconds,
          escape_markup(r->info.file), r->info.line);
      out << "      <properties>\n";
      out << fmt::format("        <property name=\"rule\" value=\"{}\"/>\n",
                         escape_markup(r->info.rule));
      out << fmt::format("        <property name=\"citation\" value=\"{}\"/>\n",
                         escape_markup(r->info.citation));
      if (!r->property_tests.empty())
        out << fmt::format("        <property name=\"tests\" value=\"{}\"/>\n",
                           escape_markup(r->property_tests));
      for (const auto& trace : r->traces)
        out << fmt::format("        <property name=\"trace\" value=\"{}\"/>\n",
                           escape_markup((report_dir / trace).string()));
      out << "      </properties>\n";
      if (r->status == Status::kUnexpectedPass) {
        out << fmt::format("      <failure message=\"{}\"/>\n", escape_markup(r->message));
      } else if (r->status == Status::kExpectedFailure) {
        // JUnit has no expected failure; a skip with the reason keeps CI views green.
        out << fmt::format("      <skipped message=\"{}\"/>\n",
                           escape_markup("expected failure: " + r->expected));
        out << fmt::format("      <system-out>{}</system-out>\n",
                           escape_markup(failure_text(*r, report_dir)));
      } else if (r->status == Status::kFailed || r->status == Status::kHung) {
        // A hang is its own kind of failure: CI views show the type.
        out << fmt::format("      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                           status_name(r->status), escape_markup(one_line_summary(r->message)),
                           escape_markup(failure_text(*r, report_dir)));
        out << fmt::format("      <system-out>{}</system-out>\n", escape_markup(r->output));
      } else if (r->status == Status::kSkipped || r->status == Status::kInterrupted) {
        out << fmt::format("      <skipped message=\"{}\"/>\n", escape_markup(r->message));
      }
      out << "    </testcase>\n";
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

void write_results_json(const RunSummary& s, const std::filesystem::path& report_dir) {
  nlohmann::json cases = nlohmann::json::array();
  std::map<std::string, int> counts{{"passed", 0}, {"failed", 0}, {"hung", 0},       {"skipped", 0},
                                    {"xfail", 0},  {"xpass", 0},  {"interrupted", 0}};
  for (const auto& r : s.results) {
    ++counts[status_name(r.status)];
    nlohmann::json c = {{"name", r.info.name},         {"status", status_name(r.status)},
                        {"seconds", r.seconds},        {"rule", r.info.rule},
                        {"citation", r.info.citation}, {"linux", r.info.linux_note},
                        {"file", r.info.file},         {"line", r.info.line},
                        {"traces", r.traces}};
    if (r.status != Status::kPassed) c["message"] = r.message;
    // What a scripted case printed: a faulted case's record of its observed ("= ?") lines.
    if (r.info.scripted() && !r.output.empty()) c["output"] = r.output;
    if (!r.trace_note.empty()) c["trace_note"] = r.trace_note;
    if (!r.note.empty()) c["note"] = r.note;
    if (!r.expected.empty()) c["expected"] = r.expected;
    if (!r.rapidcheck_reproduce.empty()) c["rapidcheck_reproduce"] = r.rapidcheck_reproduce;
    if (!r.property_tests.empty()) c["property_tests"] = r.property_tests;
    cases.push_back(std::move(c));
  }
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  const nlohmann::json doc = {{"target", s.target},
                              {"target_version", s.target_version},
                              {"host", host},
                              {"kernel", s.kernel.empty() ? kernel_release() : s.kernel},
                              {"libc", s.libc},
                              {"seconds", s.seconds},
                              {"interrupted", s.interrupted_by != 0},
                              {"cases_to_run", s.total},
                              {"summary", counts},
                              {"cases", cases}};
  open_report(report_dir / "results.json") << doc.dump(2) << "\n";
}

}  // namespace sockspec
