#include "runner/judgement/case_result.h"

#include <sstream>

#include <fmt/format.h>

#include "os/names.h"
#include "protocol/case_file_name.h"

namespace sockspec {

namespace {

// The status memcheck gives a process in which it found an error (--error-exitcode).
constexpr int kMemoryErrorStatus = 97;

// memcheck's own lines ("==PID== ...") from a case's output, the first 40 of them.
std::string memcheck_report(const std::string& output) {
  std::istringstream lines(output);
  std::string report;
  int kept = 0;
  for (std::string line; std::getline(lines, line) && kept < 40;)
    if (line.starts_with("==") && line.find("== ", 2) != std::string::npos)
      report += line + "\n", ++kept;
  return report;
}

double seconds_of(std::chrono::milliseconds d) {
  return std::chrono::duration<double>(d).count();
}

// A trace a case wrote itself lands in the run's trace dir; the report names it from there.
std::string report_path_of_trace(const std::string& path) {
  return "traces/" + std::filesystem::path(path).filename().string();
}

}  // namespace

CaseResult evaluate(const CaseInfo& info, const std::optional<protocol::ResultRecord>& record,
                    std::string output, const CaseEnd& end, const Judging& judging) {
  CaseResult result;
  result.info = info;
  result.seconds = end.seconds;
  result.output = std::move(output);

  // What a stopped case had reported before it was stopped, under the reason it was.
  const std::string reported =
      record && !record->message.empty() && record->verdict == protocol::Verdict::kFailed
          ? "before that, the case reported:\n" + record->message
          : "";
  switch (end.stopped_by) {
    case CaseEnd::StoppedBy::kDeadline:
      result.status = Status::kFailed;
      result.message = fmt::format(
          "the case did not finish within its deadline of {:.1f} s and was killed; "
          "its processes were:\n{}{}",
          seconds_of(judging.timeout), end.processes, reported);
      return result;
    case CaseEnd::StoppedBy::kHangVerdict:
      result.status = Status::kHung;
      result.message = fmt::format(
          "the case hung: for {:.1f} s every one of its processes was asleep in a call that "
          "nothing but another of them could end (no timeout pending, no timer), and none ran; "
          "it was killed. Its processes were:\n{}{}",
          seconds_of(judging.hang_after), end.processes, reported);
      return result;
    case CaseEnd::StoppedBy::kInterrupt:
      result.status = Status::kInterrupted;
      result.message = fmt::format("the run was interrupted by {} while this case ran",
                                   signal_name(end.interrupt_signal));
      return result;
    case CaseEnd::StoppedBy::kNothing:
      break;
  }

  if (!record) {
    result.status = Status::kFailed;
    result.message = fmt::format("the case process {} and wrote no result", end.exit.describe());
    return result;
  }
  for (const auto& trace : record->traces) result.traces.push_back(report_path_of_trace(trace));
  switch (record->verdict) {
    case protocol::Verdict::kSkipped:
      result.status = Status::kSkipped;
      result.message = record->skip_reason;
      break;
    case protocol::Verdict::kPassed:
      result.status = Status::kPassed;
      break;
    case protocol::Verdict::kFailed:
      result.status = Status::kFailed;
      result.message = record->message;
      break;
  }
  // A record that says "passed" from a process that then crashed is not a pass, nor one from
  // a process memcheck ended with its error status (97): it found a memory error.
  const bool memory_error = end.exit.exited && end.exit.code == kMemoryErrorStatus;
  if (!end.exit.exited || memory_error) {
    result.status = Status::kFailed;
    if (!result.message.empty()) result.message += "\n";
    result.message += fmt::format("the case process {}", end.exit.describe());
    if (memory_error)
      result.message += " (under memcheck: a memory error)\n" + memcheck_report(result.output);
  }
  result.property_tests = record->tests;
  if (result.status == Status::kFailed && !record->reproduce.empty()) {
    result.rapidcheck_reproduce = record->reproduce;
    result.reproduce_command = fmt::format("RC_PARAMS=reproduce={} {} --gtest_filter='{}'",
                                           record->reproduce, judging.suite.string(), info.name);
  }
  return result;
}

}  // namespace sockspec
