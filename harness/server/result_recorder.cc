#include "server/result_recorder.h"

#include <unistd.h>

#include <fmt/format.h>

namespace sockspec {

namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

ResultRecorder::ResultRecorder(std::string result_file, std::string case_name)
    : result_file_(std::move(result_file)), case_name_(std::move(case_name)), owner_(::getpid()) {
  // Written at the first failure, so that it survives a crash after it; a case process that
  // ends before writing any record is reported from its exit status.
  record_.verdict = protocol::Verdict::kFailed;
}

void ResultRecorder::OnTestPartResult(const ::testing::TestPartResult& part) {
  if (::getpid() != owner_) return;
  if (part.skipped()) {
    record_.skip_reason = trimmed(part.message());
    return;
  }
  if (!part.failed()) return;
  // As GoogleTest's own reports write a failure: "file:line" on a line, then the message.
  const std::string where = part.file_name()
                                ? fmt::format("{}:{}", part.file_name(), part.line_number())
                                : "unknown file";
  if (!record_.message.empty()) record_.message += "\n";
  record_.message += fmt::format("{}\n{}", where, trimmed(part.message()));
  write();
}

void ResultRecorder::OnTestEnd(const ::testing::TestInfo& info) {
  if (::getpid() != owner_) return;
  ended_ = true;
  const ::testing::TestResult& result = *info.result();
  if (result.Failed()) {
    record_.verdict = protocol::Verdict::kFailed;
  } else if (result.Skipped()) {
    record_.verdict = protocol::Verdict::kSkipped;
    record_.message.clear();
    if (record_.skip_reason.empty()) record_.skip_reason = "skipped";
  } else {
    record_.verdict = protocol::Verdict::kPassed;
    record_.message.clear();
  }
  for (int i = 0; i < result.test_property_count(); ++i) {
    const ::testing::TestProperty& p = result.GetTestProperty(i);
    const std::string_view key = p.key();
    if (key == protocol::kReproduceProperty) record_.reproduce = p.value();
    if (key == protocol::kTestsProperty) record_.tests = p.value();
    if (key.starts_with(protocol::kTracePropertyPrefix)) record_.traces.push_back(p.value());
  }
  write();
}

void ResultRecorder::OnTestProgramEnd(const ::testing::UnitTest&) {
  if (::getpid() != owner_ || ended_) return;
  record_.verdict = protocol::Verdict::kFailed;
  record_.message = fmt::format("the case program has no case named {}", case_name_);
  write();
}

void ResultRecorder::write() {
  protocol::write_record(result_file_, record_);
}

}  // namespace sockspec
