#include "runner/run_model.h"

#include <fmt/format.h>

namespace sockspec {

std::string status_name(Status status) {
  switch (status) {
    case Status::kPassed:
      return "passed";
    case Status::kFailed:
      return "failed";
    case Status::kHung:
      return "hung";
    case Status::kSkipped:
      return "skipped";
    case Status::kExpectedFailure:
      return "xfail";
    case Status::kUnexpectedPass:
      return "xpass";
    case Status::kInterrupted:
      return "interrupted";
  }
  return "?";
}

std::string failure_text(const CaseResult& r, const std::filesystem::path& report_dir) {
  std::string text = r.message;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (!r.info.rule.empty()) {
    text += fmt::format("\nrule: {}\ndocumented in: {}", r.info.rule, r.info.citation);
    if (!r.info.linux_note.empty()) text += fmt::format(" ({})", r.info.linux_note);
  }
  if (!r.reproduce_command.empty()) text += "\nreproduce: " + r.reproduce_command;
  for (const auto& trace : r.traces)
    text += fmt::format("\ntrace: {}", (report_dir / trace).string());
  if (!r.trace_note.empty()) text += fmt::format("\ntrace note: {}", r.trace_note);
  if (!r.note.empty()) text += fmt::format("\nnote: {}", r.note);
  return text;
}

}  // namespace sockspec
