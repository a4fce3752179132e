// The differential fuzzer's two halves that are not libFuzzer: running one program on one
// implementation (through `sockspec script`, so a program runs exactly as a case does), and
// comparing two runs line by line into a difference and the case that reproduces it.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "call_program.h"

namespace sockspec::fuzz {

// What one run of a program showed.
struct Observations {
  std::string status;               // results.json's: "passed", "failed", "hung", ...
  std::map<int, std::string> said;  // file line -> "recv(b1, 100, MSG_DONTWAIT) = -1 EAGAIN"
  std::string message;              // a run that did not pass: why (an invariant, a hang)
};

// Runs `case_file` with `sockspec script --target TARGET`, its report in `report_dir`.
// A program `sockspec` refuses (exit 2) is a fault of the decoder: it throws.
class ScriptRunner {
 public:
  // `preload`: a library under every actor (`sockspec script --preload`), "" for none.
  ScriptRunner(std::filesystem::path sockspec, std::string target, std::string preload = "")
      : sockspec_(std::move(sockspec)), target_(std::move(target)), preload_(std::move(preload)) {}
  // Starts the run; finish() waits for it and reads its report.
  void start(const std::filesystem::path& case_file, const std::filesystem::path& report_dir);
  Observations finish();
  const std::string& target() const { return target_; }

 private:
  std::filesystem::path sockspec_;
  std::string target_;
  std::string preload_;
  std::filesystem::path case_file_;
  std::filesystem::path report_dir_;
  pid_t pid_ = -1;
};

struct Difference {
  int file_line = 0;          // the first line whose results differ (0: only the verdicts do)
  std::size_t index = 0;      // that line's index in the program's lines
  std::string call;           // "recv(b1, 100, MSG_DONTWAIT)"
  std::string native, other;  // each side's result: "-1 EAGAIN", "3 \"abc\"", "not made: ..."
  std::string signature;      // the same difference, whatever the fds and sizes
};

std::optional<Difference> first_difference(const CallProgram& program, const Observations& native,
                                           const Observations& other);

// The same difference with the names, byte counts and contents left out, so that one
// behaviour found by many programs is reported once: "send(MSG_DONTWAIT): N | -1 EAGAIN".
std::string signature_of(const std::string& call, const std::string& native,
                         const std::string& other);

// A case file reproducing `difference`: the program's lines up to it, each expecting what
// Linux returned. `strict`: a plain case (every line's result written out); otherwise a
// faulted one in which only the differing line is written out (for programs whose earlier
// lines cannot be, such as a name bound by a call that failed).
std::string reproducer(const CallProgram& program, const Observations& native,
                       const Difference& difference, const std::string& target, bool strict);

// Whether a later line of `program` uses a name line `index` binds (so it cannot go).
bool names_used_after(const CallProgram& program, std::size_t index);

// What a behaviour is called for libFuzzer's extra counters: the call with its constants
// and the shape of its result ("recv(MSG_DONTWAIT|MSG_PEEK) = N BYTES").
std::string behaviour_of(const std::string& said);

}  // namespace sockspec::fuzz
