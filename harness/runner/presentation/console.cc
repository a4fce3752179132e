#include "runner/presentation/console.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace sockspec {

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
  return text;
}

Console::Console(std::FILE* out, std::size_t total, std::filesystem::path report_dir)
    : out_(out),
      terminal_(::isatty(::fileno(out)) != 0),
      total_(total),
      report_dir_(std::move(report_dir)) {}

void Console::clear_progress() {
  if (terminal_) fmt::print(out_, "\r\033[K");
}

void Console::started(const CaseInfo& info) {
  if (!terminal_) return;
  clear_progress();
  // One line that rewrites itself: cut to the terminal's width, or it would wrap and the
  // next rewrite would leave the wrapped part behind.
  std::string line =
      fmt::format("[{}/{}] {} failed, {} skipped  {}", done_, total_, failed_, skipped_, info.name);
  winsize size{};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 1 &&
      line.size() >= size.ws_col)
    line.resize(size.ws_col - 1u);
  fmt::print(out_, "{}", line);
  std::fflush(out_);
}

void Console::print_failure(const CaseResult& r) {
  std::string indented;
  for (char c : failure_text(r, report_dir_)) {
    indented += c;
    if (c == '\n') indented += "    ";
  }
  fmt::print(out_, "FAIL {} ({:.2f} s)\n    {}\n", r.info.name, r.seconds, indented);
}

void Console::finished(const CaseResult& r) {
  ++done_;
  if (is_failure(r.status)) ++failed_;
  if (r.status == Status::kSkipped) ++skipped_;
  clear_progress();
  if (r.status == Status::kFailed) {
    print_failure(r);
  } else if (r.status == Status::kUnexpectedPass) {
    fmt::print(out_, "XPASS {} ({:.2f} s)\n    {}\n", r.info.name, r.seconds, r.message);
  } else if (!terminal_) {
    if (r.status == Status::kSkipped)
      fmt::print(out_, "SKIP {}: {}\n", r.info.name, r.message);
    else if (r.status == Status::kExpectedFailure)
      fmt::print(out_, "XFAIL {}: {}\n", r.info.name, r.expected);
    else
      fmt::print(out_, "PASS {} ({:.2f} s)\n", r.info.name, r.seconds);
  }
  std::fflush(out_);
}

void Console::summary(const RunSummary& s) {
  clear_progress();
  std::size_t passed = 0, failed = 0, skipped = 0, xfail = 0, xpass = 0;
  for (const auto& r : s.results) {
    passed += r.status == Status::kPassed;
    failed += r.status == Status::kFailed;
    skipped += r.status == Status::kSkipped;
    xfail += r.status == Status::kExpectedFailure;
    xpass += r.status == Status::kUnexpectedPass;
  }
  if (xfail > 0) {
    fmt::print(out_, "\nexpected failures (known divergences of this target):\n");
    for (const auto& r : s.results)
      if (r.status == Status::kExpectedFailure)
        fmt::print(out_, "  {}{}\n", r.info.name,
                   r.traces.empty() ? "" : "  trace: " + (report_dir_ / r.traces.front()).string());
  }
  if (xpass > 0) {
    fmt::print(out_, "\nunexpected passes (remove them from the expectation table):\n");
    for (const auto& r : s.results)
      if (r.status == Status::kUnexpectedPass) fmt::print(out_, "  {}\n", r.info.name);
  }
  if (skipped > 0) {
    fmt::print(out_, "\nskipped:\n");
    for (const auto& r : s.results)
      if (r.status == Status::kSkipped) fmt::print(out_, "  {}: {}\n", r.info.name, r.message);
  }
  if (failed > 0) {
    fmt::print(out_, "\nfailed:\n");
    for (const auto& r : s.results)
      if (r.status == Status::kFailed)
        fmt::print(out_, "  {}{}\n", r.info.name,
                   r.traces.empty() ? "" : "  trace: " + (report_dir_ / r.traces.front()).string());
  }
  if (!s.trace_note.empty()) fmt::print(out_, "\nnote: {}\n", s.trace_note);
  if (s.interrupted)
    fmt::print(out_, "\ninterrupted: {} of {} cases ran\n", s.results.size(), total_);
  fmt::print(out_, "\nreport: {}/junit.xml, {}/results.json ({:.1f} s)\n", report_dir_.string(),
             report_dir_.string(), s.seconds);
  std::string tail;
  if (xfail > 0) tail += fmt::format(", {} xfail", xfail);
  if (xpass > 0) tail += fmt::format(", {} xpass", xpass);
  if (skipped > 0) tail += fmt::format(", {} skipped", skipped);
  fmt::print(out_, "{} passed, {} failed{}\n", passed, failed, tail);
  std::fflush(out_);
}

}  // namespace sockspec
