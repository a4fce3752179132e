#include "server/case_entry.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "case/rule.h"
#include "script/interpreter.h"
#include "script/parser.h"
#include "server/case_faults.h"
#include "server/result_recorder.h"

namespace sockspec {

namespace {

// A failure of the set-up itself: recorded as the case's failure, so the runner says what
// went wrong instead of "no result".
[[noreturn]] void fail_to_enter(const protocol::CaseRequest& request, const std::string& why) {
  protocol::ResultRecord record;
  record.verdict = protocol::Verdict::kFailed;
  record.message = fmt::format("the case process could not be set up: {}", why);
  protocol::write_record(request.result_file, record);
  ::_exit(kCaseFailed);
}

void enter(const protocol::CaseRequest& request) {
  if (request.own_session && ::getsid(0) != ::getpid() && ::setsid() < 0)
    fail_to_enter(request, fmt::format("setsid: {}", std::strerror(errno)));
  // Every disposition is already the default: the server set them so when it started and
  // changes none; only the server's blocked SIGCHLD is undone.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  const int null = ::open("/dev/null", O_RDONLY);
  const int log = ::open(request.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (null < 0 || log < 0)
    fail_to_enter(request,
                  fmt::format("cannot open {}: {}", request.output_file, std::strerror(errno)));
  ::dup2(null, STDIN_FILENO);
  ::dup2(log, STDOUT_FILENO);
  ::dup2(log, STDERR_FILENO);
  ::close(null);
  ::close(log);

  for (const auto& assignment : request.env) {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos) continue;
    ::setenv(assignment.substr(0, equals).c_str(), assignment.c_str() + equals + 1, 1);
  }
  if (::chdir(request.work_dir.c_str()) != 0)
    fail_to_enter(request, fmt::format("chdir {}: {}", request.work_dir, std::strerror(errno)));
}

// After a failed case, the rule it checks, for whoever reads the log.
class PrintRuleOnFailure : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!info.result()->Failed()) return;
    if (const auto* rule = find_rule(info.test_suite_name(), info.name())) {
      std::cout << "  rule: " << rule->text << "\n  documented in: " << rule->citation;
      if (!rule->linux_note.empty()) std::cout << " (" << rule->linux_note << ")";
      std::cout << "\n";
    }
  }
};

int run_google_test(const protocol::CaseRequest& request) {
  GTEST_FLAG_SET(filter, request.name);
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  listeners.Append(new PrintRuleOnFailure);
  listeners.Append(new ResultRecorder(request.result_file, request.name));
  listeners.Append(new CaseFaults);  // last: see case_faults.h
  const int status = RUN_ALL_TESTS();
  const auto* unit = ::testing::UnitTest::GetInstance();
  if (status != 0) return kCaseFailed;
  return unit->skipped_test_count() > 0 ? kCaseSkipped : kCasePassed;
}

int run_script(const protocol::CaseRequest& request) {
  protocol::ResultRecord record;
  std::ostringstream out;
  int status = script::kScriptFailed;
  try {
    status = script::interpret(script::parse_script_file(request.script), out);
  } catch (const std::exception& e) {  // a malformed script, a case that could not be set up
    out << e.what() << "\n";
  }
  std::string text = out.str();
  std::cout << text << std::flush;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (status == script::kScriptPassed) {
    record.verdict = protocol::Verdict::kPassed;
  } else if (status == script::kScriptSkipped) {
    record.verdict = protocol::Verdict::kSkipped;
    record.skip_reason = text.starts_with("skipped: ") ? text.substr(9) : text;
  } else {
    record.verdict = protocol::Verdict::kFailed;
    record.message = text;
  }
  protocol::write_record(request.result_file, record);
  return status == script::kScriptPassed    ? kCasePassed
         : status == script::kScriptSkipped ? kCaseSkipped
                                            : kCaseFailed;
}

}  // namespace

void run_case(const protocol::CaseRequest& request) {
  enter(request);
  const int status =
      request.kind == protocol::CaseKind::kScript ? run_script(request) : run_google_test(request);
  std::fflush(nullptr);
  std::cout.flush();
  // _exit: the program's static destructors belong to the server's image, not to the case.
  ::_exit(status);
}

}  // namespace sockspec
