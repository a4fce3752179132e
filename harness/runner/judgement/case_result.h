// What a case came to: passed, failed or skipped, with everything a reader needs to see why.
#pragma once

#include <string>
#include <vector>

#include "runner/engine/case_list.h"
#include "runner/engine/case_process.h"

namespace sockspec {

// kExpectedFailure and kUnexpectedPass come from an expectation table (expectations.h).
enum class Status { kPassed, kFailed, kSkipped, kExpectedFailure, kUnexpectedPass };
std::string status_name(Status status);  // "passed", "failed", "skipped", "xfail", "xpass"
// Failed, or passed against an expectation: what makes a run's exit status 1.
inline bool is_failure(Status s) {
  return s == Status::kFailed || s == Status::kUnexpectedPass;
}

struct CaseResult {
  CaseInfo info;
  Status status = Status::kFailed;
  double seconds = 0;
  std::string message;  // failures (or the skip reason), as GoogleTest and the runner wrote them
  std::string output;   // what the case's processes printed
  std::vector<std::string> traces;  // trace files, relative to the report dir
  std::string trace_note;  // e.g. "the traced re-run passed: the failure did not reproduce"
  std::string rapidcheck_reproduce;  // set for a failed property: replays its counterexample
  std::string reproduce_command;     // the command line that does so
  std::string expected;              // an expected failure: what the expectation table says of it
};

// Reads GoogleTest's JSON result and the captured output of a finished case process.
CaseResult evaluate(const CaseLaunch& launch, const CaseExit& exit);

}  // namespace sockspec
