#include "runner/presentation/console.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "os/names.h"

namespace sockspec {

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

void Console::print_failure(std::string_view word, const CaseResult& r) {
  std::string indented;
  for (char c : failure_text(r, report_dir_)) {
    indented += c;
    if (c == '\n') indented += "    ";
  }
  fmt::print(out_, "{} {} ({:.2f} s)\n    {}\n", word, r.info.name, r.seconds, indented);
}

void Console::finished(const CaseResult& r) {
  ++done_;
  if (is_failure(r.status)) ++failed_;
  if (r.status == Status::kSkipped) ++skipped_;
  clear_progress();
  if (r.status == Status::kFailed) {
    print_failure("FAIL", r);
  } else if (r.status == Status::kHung) {
    print_failure("HUNG", r);
  } else if (r.status == Status::kInterrupted) {
    fmt::print(out_, "INTERRUPTED {} ({:.2f} s)\n", r.info.name, r.seconds);
  } else if (r.status == Status::kUnexpectedPass) {
    fmt::print(out_, "XPASS {} ({:.2f} s)\n    {}\n", r.info.name, r.seconds, r.message);
  } else if (!terminal_) {
    if (r.status == Status::kSkipped)
      fmt::print(out_, "SKIP {}: {}\n", r.info.name, r.message);
    else if (r.status == Status::kExpectedFailure)
      fmt::print(out_, "XFAIL {}: {}\n", r.info.name, r.expected);
    else if (!r.property_tests.empty())
      fmt::print(out_, "PASS {} ({:.2f} s, tests: {})\n", r.info.name, r.seconds, r.property_tests);
    else
      fmt::print(out_, "PASS {} ({:.2f} s)\n", r.info.name, r.seconds);
  }
  if (!r.note.empty() && r.status != Status::kFailed && r.status != Status::kHung) {
    std::string indented;
    for (char c : r.note) indented += c == '\n' ? std::string("\n    ") : std::string(1, c);
    fmt::print(out_, "    note: {}\n", indented);
  }
  std::fflush(out_);
}

void Console::summary(const RunSummary& s) {
  clear_progress();
  std::size_t passed = 0, failed = 0, hung = 0, skipped = 0, xfail = 0, xpass = 0, interrupted = 0;
  for (const auto& r : s.results) {
    passed += r.status == Status::kPassed;
    failed += r.status == Status::kFailed;
    hung += r.status == Status::kHung;
    interrupted += r.status == Status::kInterrupted;
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
  for (const auto& [status, heading] :
       {std::pair{Status::kHung, "hung"}, std::pair{Status::kFailed, "failed"}}) {
    if ((status == Status::kHung ? hung : failed) == 0) continue;
    fmt::print(out_, "\n{}:\n", heading);
    for (const auto& r : s.results)
      if (r.status == status)
        fmt::print(out_, "  {}{}\n", r.info.name,
                   r.traces.empty() ? "" : "  trace: " + (report_dir_ / r.traces.front()).string());
  }
  if (!s.trace_note.empty()) fmt::print(out_, "\nnote: {}\n", s.trace_note);
  if (s.interrupted_by)
    fmt::print(out_,
               "\ninterrupted by {}: {} of {} cases finished, {} were stopped while running, {} "
               "did not start\n",
               signal_name(s.interrupted_by), s.results.size() - interrupted, s.total, interrupted,
               s.total - s.results.size());
  fmt::print(out_, "\nreport: {}/junit.xml, {}/results.json ({:.1f} s)\n", report_dir_.string(),
             report_dir_.string(), s.seconds);
  std::string tail;
  if (hung > 0) tail += fmt::format(", {} hung", hung);
  if (xfail > 0) tail += fmt::format(", {} xfail", xfail);
  if (xpass > 0) tail += fmt::format(", {} xpass", xpass);
  if (skipped > 0) tail += fmt::format(", {} skipped", skipped);
  if (interrupted > 0) tail += fmt::format(", {} interrupted", interrupted);
  fmt::print(out_, "{} passed, {} failed{}\n", passed, failed, tail);
  std::fflush(out_);
}

}  // namespace sockspec
