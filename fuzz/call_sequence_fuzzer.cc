// libFuzzer target: the differential fuzzer of call sequences. Each input decodes to a short
// program of calls between two actors (call_program.h); the program runs on this machine's
// kernel and on another implementation (a `sockspec script --target`), and the two records
// are compared line by line. The first line whose results differ is a difference: unless
// fuzz/known-differences.txt explains it, it is written as a case file that expects what
// Linux returned, run again on both sides to confirm it (it must pass here and fail there),
// and kept in the findings folder as `difference-HASH.case`. A program that breaks a fault
// invariant on Linux itself is kept as `linux-HASH.case`.
//
// Coverage is what the calls did, not only which lines of the harness ran: each call's
// constants with the shape of its result (`recv(MSG_DONTWAIT|MSG_PEEK) = N BYTES`), alone
// and after the call before it, are libFuzzer features (its extra counters), so an input
// that makes a call end in a way none did before is kept in the corpus.
//
// Set by ci/fuzz, from the environment:
//   SOCKSPEC_DIFF_TARGET    the implementation compared with Linux (gvisor, qemu, ...; native
//                           runs Linux against itself: a check that programs are repeatable)
//   SOCKSPEC_PROGRAM        the sockspec program of the main build (default: build/sockspec)
//   SOCKSPEC_DIFF_FINDINGS  where confirmed differences go (default: the current folder)
//   SOCKSPEC_DIFF_PRELOAD   a library preloaded on the target's side only: the deviation shim
//                           (harness/deviations), to show a planted deviation found
//   SOCKSPEC_DIFF_SHOW=1    print each program and both records (to replay one input)
#include <fnmatch.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "call_program.h"
#include "differential.h"

namespace {

using sockspec::fuzz::CallProgram;
using sockspec::fuzz::Difference;
using sockspec::fuzz::Observations;
using sockspec::fuzz::ScriptRunner;

// libFuzzer reads these as coverage: one counter per behaviour, by hash.
constexpr std::size_t kBehaviourCounters = 1 << 14;
[[gnu::used,
  gnu::section("__libfuzzer_extra_counters")]] std::uint8_t behaviour_counters[kBehaviourCounters];

// A hash that is the same from run to run, for file names.
std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

void count_behaviour(const std::string& behaviour) {
  std::uint8_t& counter = behaviour_counters[stable_hash(behaviour) % kBehaviourCounters];
  if (counter < 255) ++counter;
}

// A difference the project already knows: "TARGET GLOB  # why", the glob over a signature.
struct KnownDifference {
  std::string target;
  std::string pattern;
};

std::vector<KnownDifference> read_known(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "call-sequence-fuzzer: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::vector<KnownDifference> known;
  for (std::string line; std::getline(in, line);) {
    if (const std::size_t hash = line.find(" #"); hash != std::string::npos) line.resize(hash);
    if (line.starts_with("#")) continue;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    const std::size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    known.push_back({line.substr(0, space), line.substr(line.find_first_not_of(' ', space))});
  }
  return known;
}

std::string environment(const char* name, const std::string& otherwise) {
  const char* value = std::getenv(name);
  return value && *value ? value : otherwise;
}

class Campaign {
 public:
  Campaign()
      : target_(environment("SOCKSPEC_DIFF_TARGET", "native")),
        label_(environment("SOCKSPEC_DIFF_PRELOAD", "").empty()
                   ? target_
                   : fmt::format("{} with SHIM_DEVIATION={}", target_,
                                 environment("SHIM_DEVIATION", "(unset)"))),
        native_(environment("SOCKSPEC_PROGRAM", SOCKSPEC_MAIN_BUILD "/sockspec"), "native"),
        other_(environment("SOCKSPEC_PROGRAM", SOCKSPEC_MAIN_BUILD "/sockspec"), target_,
               environment("SOCKSPEC_DIFF_PRELOAD", "")),
        findings_(environment("SOCKSPEC_DIFF_FINDINGS", ".")),
        show_(environment("SOCKSPEC_DIFF_SHOW", "") == "1"),
        known_(read_known(SOCKSPEC_SOURCE_DIR "/fuzz/known-differences.txt")) {
    const std::string program = environment("SOCKSPEC_PROGRAM", SOCKSPEC_MAIN_BUILD "/sockspec");
    if (::access(program.c_str(), X_OK) != 0) {
      std::fprintf(stderr,
                   "call-sequence-fuzzer: %s is missing; build it first (ci/bootstrap, or "
                   "cmake --build build)\n",
                   program.c_str());
      std::exit(2);
    }
    char folder[] = "/tmp/sockspec-diff-XXXXXX";
    if (!::mkdtemp(folder)) {
      std::perror("call-sequence-fuzzer: mkdtemp");
      std::exit(2);
    }
    work_ = folder;
    std::filesystem::create_directories(findings_);
  }
  ~Campaign() {
    std::error_code ignored;
    std::filesystem::remove_all(work_, ignored);
    std::fprintf(stderr,
                 "call-sequence-fuzzer: %zu programs natively and on %s: %zu differed, %zu of "
                 "them known, %zu unconfirmed; %zu unknown differences (%zu new)\n",
                 programs_, label_.c_str(), differed_, known_count_, unconfirmed_, unknown_.size(),
                 found_);
  }

  void run(const CallProgram& program) {
    const auto [native, other] = run_both(program);
    ++programs_;
    if (show_) show(program, native, other);
    std::string before;
    for (const auto& [line, said] : native.said) {
      const std::string behaviour = sockspec::fuzz::behaviour_of(said);
      count_behaviour(behaviour);
      count_behaviour(before + " ; " + behaviour);
      before = behaviour;
    }
    if (native.status != "passed") keep_linux_finding(program, native);
    if (const auto difference = first_difference(program, native, other))
      judge(program, native, *difference);
  }

 private:
  std::pair<Observations, Observations> run_both(const CallProgram& program) {
    return run_both(program.text(), "program.case");
  }
  std::pair<Observations, Observations> run_both(const std::string& text, const char* name) {
    try {
      return try_both(text, name);
    } catch (const std::runtime_error& e) {
      // sockspec refused the case (exit 2). On the first program: the target cannot run
      // here, which is bad usage. Later: the decoder wrote a malformed case, a finding.
      std::error_code ignored;
      std::filesystem::remove_all(work_, ignored);
      if (programs_ == 0) {
        std::fprintf(stderr, "call-sequence-fuzzer: %s", e.what());
        std::_Exit(2);
      }
      std::fprintf(stderr, "call-sequence-fuzzer: %s\n%s", e.what(), text.c_str());
      std::abort();
    }
  }

  // Throws where sockspec refuses the case (exit 2).
  std::pair<Observations, Observations> try_both(const std::string& text, const char* name) {
    const auto file = work_ / name;
    std::ofstream(file) << text;
    native_.start(file, work_ / "native");
    other_.start(file, work_ / "other");
    std::optional<Observations> native;
    try {
      native = native_.finish();
    } catch (const std::runtime_error&) {
      try {
        other_.finish();  // both are waited for, whatever either says
      } catch (const std::runtime_error&) {
      }
      throw;
    }
    return {*native, other_.finish()};
  }

  // The shortest program found that still shows the same difference: the lines after it
  // dropped, then each earlier line no later line needs, one at a time, while the
  // difference stays the same.
  std::tuple<CallProgram, Observations, Difference> reduce(CallProgram program, Observations native,
                                                           Difference d) {
    if (d.file_line != 0) program.lines.resize(d.index + 1);
    for (std::size_t i = program.lines.size(); i-- > 0;) {
      if (i == d.index || sockspec::fuzz::names_used_after(program, i)) continue;
      CallProgram shorter = program;
      shorter.lines.erase(shorter.lines.begin() + static_cast<std::ptrdiff_t>(i));
      const auto [n, o] = run_both(shorter);
      const auto still = first_difference(shorter, n, o);
      if (!still || still->signature != d.signature) continue;
      program = std::move(shorter);
      native = n;
      d = *still;
    }
    return {std::move(program), std::move(native), std::move(d)};
  }

  void show(const CallProgram& program, const Observations& native, const Observations& other) {
    std::printf("%s", program.text().c_str());
    for (const auto& [line, said] : native.said) {
      const auto there = other.said.find(line);
      const std::string theirs = there == other.said.end() ? "(nothing)" : there->second;
      std::printf("%3d native: %s\n%s", line, said.c_str(),
                  theirs == said ? "" : fmt::format("    {}: {}\n", label_, theirs).c_str());
    }
    std::printf("native: %s; %s: %s\n", native.status.c_str(), label_.c_str(),
                other.status.c_str());
  }

  bool known(const std::string& signature) const {
    for (const auto& k : known_)
      if ((k.target == target_ || k.target == "*") &&
          fnmatch(k.pattern.c_str(), signature.c_str(), 0) == 0)
        return true;
    return false;
  }

  void judge(const CallProgram& found_by, const Observations& found_natively,
             const Difference& first_seen) {
    ++differed_;
    if (known(first_seen.signature)) {
      ++known_count_;
      return;
    }
    if (!seen_.insert(first_seen.signature).second) return;
    const auto kept =
        findings_ / fmt::format("difference-{:016x}.case", stable_hash(first_seen.signature));
    if (std::filesystem::exists(kept)) {  // found by an earlier run, and still unexplained
      unknown_.insert(first_seen.signature);
      std::fprintf(stderr, "call-sequence-fuzzer: difference on %s (kept before): %s\n  %s\n",
                   label_.c_str(), first_seen.signature.c_str(), kept.c_str());
      return;
    }
    const auto [program, native, d] = reduce(found_by, found_natively, first_seen);
    // The plain case first; where an earlier line cannot be written out, the faulted one.
    for (const bool strict : {true, false}) {
      if (strict && d.file_line == 0) continue;  // only a faulted case checks the invariants
      const std::string text = reproducer(program, native, d, label_, strict);
      if (text.empty() || !confirmed(text)) continue;
      std::ofstream(kept) << text;
      ++found_;
      unknown_.insert(first_seen.signature);
      std::fprintf(stderr, "call-sequence-fuzzer: difference on %s: %s\n  %s\n", label_.c_str(),
                   d.signature.c_str(), kept.c_str());
      return;
    }
    ++unconfirmed_;
    std::fprintf(stderr, "call-sequence-fuzzer: unconfirmed (not repeatable): %s\n",
                 d.signature.c_str());
  }

  // The reproducer passes on Linux and fails on the target, as a case run by itself.
  // A result written out as an expectation the language cannot read (a fault of
  // reproducer()) is reported, and the faulted form tried instead.
  bool confirmed(const std::string& text) {
    try {
      const auto [native, other] = try_both(text, "reproducer.case");
      return native.status == "passed" && other.status != "passed";
    } catch (const std::runtime_error& e) {
      std::fprintf(stderr, "call-sequence-fuzzer: a reproducer sockspec cannot read: %s\n%s",
                   e.what(), text.c_str());
      return false;
    }
  }

  void keep_linux_finding(const CallProgram& program, const Observations& native) {
    const auto kept = findings_ / fmt::format("linux-{:016x}.case", stable_hash(program.text()));
    std::ofstream(kept) << program.text();
    std::fprintf(stderr, "call-sequence-fuzzer: on Linux the program %s (%s)\n  %s\n",
                 native.status.c_str(), native.message.c_str(), kept.c_str());
  }

  std::string target_;
  std::string label_;  // the target, and what is planted on it
  ScriptRunner native_;
  ScriptRunner other_;
  std::filesystem::path findings_;
  bool show_ = false;
  std::vector<KnownDifference> known_;
  std::filesystem::path work_;
  std::set<std::string> seen_;
  std::set<std::string> unknown_;  // confirmed differences fuzz/known-differences.txt lacks
  std::size_t programs_ = 0, differed_ = 0, known_count_ = 0, unconfirmed_ = 0, found_ = 0;
};

Campaign* campaign = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  campaign = new Campaign();
  std::atexit([] { delete campaign; });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  campaign->run(sockspec::fuzz::decode_call_program(input));
  return 0;
}
