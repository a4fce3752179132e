// The run's data, at the bottom of the runner: what a case is, what it came to, and what a
// run came to. The engine makes them, the judgement decides them, the presentation shows
// them; none of those three includes another for a type.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sockspec {

struct CaseInfo {
  std::string name;  // "Kinds/EagainTest.RecvOnEmpty/stream_socketpair", "script/03-stream/..."
  std::string rule;
  std::string citation;
  std::string linux_note;
  std::vector<std::string> catalogue;  // catalogue rows it shows ("BE-03")
  std::vector<std::string> see_also;   // its twins in the other form
  std::string file;
  int line = 0;
  std::string script;  // a scripted case: the path of its file (empty for a GoogleTest case)
  // A GoogleTest case run under a fault (`sockspec faults`): the test it runs, when `name` is
  // the fault's ("faults/Kinds/EagainTest.X/inject-003"), strace's -e inject expression, and
  // what the case process does to itself for the fault ("SOCKSPEC_FAULT_FD_ROOM=1").
  std::string test_name;
  std::string strace_inject;
  std::vector<std::string> fault_variables;

  bool scripted() const { return !script.empty(); }
  // "Kinds/EagainTest" and "RecvOnEmpty/stream_socketpair"
  std::string suite_part() const { return name.substr(0, name.find('.')); }
  std::string test_part() const { return name.substr(name.find('.') + 1); }
};

enum class Status {
  kPassed,
  kFailed,
  kHung,  // every process asleep with nothing that could wake it: ended before its deadline
  kSkipped,
  kExpectedFailure,  // from an expectation table (judgement/expectations.h)
  kUnexpectedPass,
  kInterrupted,  // the run was interrupted while the case ran
};
// "passed", "failed", "hung", "skipped", "xfail", "xpass", "interrupted"
std::string status_name(Status status);
// What makes a run's exit status 1.
inline bool is_failure(Status s) {
  return s == Status::kFailed || s == Status::kHung || s == Status::kUnexpectedPass;
}

struct CaseResult {
  CaseInfo info;
  Status status = Status::kFailed;
  double seconds = 0;
  std::string message;              // failures, the skip reason, or why it hung
  std::string output;               // what the case's processes printed
  std::vector<std::string> traces;  // trace files, relative to the report dir
  std::string trace_note;  // e.g. "the traced re-run passed: the failure did not reproduce"
  std::string rapidcheck_reproduce;  // set for a failed property: replays its counterexample
  std::string reproduce_command;     // the command line that does so
  std::string property_tests;        // a property: how many tests it ran ("100")
  std::string expected;              // an expected failure: what the expectation table says
  std::string note;  // what else happened: "its first run was lost: the case server ..."
};

struct RunSummary {
  std::vector<CaseResult> results;  // in the order the cases were listed; interrupted ones too
  std::size_t total = 0;            // cases the run was to run
  double seconds = 0;
  int interrupted_by = 0;  // the signal that interrupted the run (0: it ran to the end)
  std::string trace_note;  // e.g. why there are no traces
  std::string target = "native";
  std::string target_version;
  std::string kernel;  // the kernel the cases met, when it is not the host's (a guest's)
  std::string libc;
};

// The failure text a report shows: the messages, the rule with its citation, the trace files.
std::string failure_text(const CaseResult& result, const std::filesystem::path& report_dir);

}  // namespace sockspec
