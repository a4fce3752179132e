#include "case/peer.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "os/case_error.h"
#include "os/names.h"
#include "os/proc.h"
#include "os/wait.h"

namespace sockspec {

namespace {
constexpr std::string_view kFailureTag = "failure";
constexpr std::string_view kDoneTag = "done";
constexpr std::string_view kWordTag = "word";
constexpr std::string_view kValuePrefix = "value:";
}  // namespace

void PeerSelf::await(std::string_view word) {
  const Message m = channel_.receive(deadline_, word);
  if (m.tag != kWordTag || m.payload != word)
    throw CaseError(fmt::format("peer '{}' waited for '{}' but the controller said '{}'", name_,
                                word, m.payload));
}

// GoogleTest keeps failures in the process that made them; a peer is another process, so
// each failure is forwarded over the channel the moment it happens, and the controller
// records it against the case.
class ForwardFailures : public ::testing::EmptyTestEventListener {
 public:
  explicit ForwardFailures(PeerSelf& self) : self_(self) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    ++count;
    const char* file = result.file_name() ? result.file_name() : "?";
    self_.channel().send(kFailureTag,
                         fmt::format("{}:{}: {}", file, result.line_number(), result.message()));
  }
  int count = 0;

 private:
  PeerSelf& self_;
};

void run_peer_body(PeerSelf& self, const PeerFunction& body) {
  ::prctl(PR_SET_NAME, fmt::format("peer:{}", self.name()).substr(0, 15).c_str());
  // In this process the listeners are a copy; the controller prints failures, not the peer.
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  delete listeners.Release(listeners.default_result_printer());
  auto* forward = new ForwardFailures(self);
  listeners.Append(forward);
  try {
    body(self);
  } catch (const std::exception& e) {
    self.channel().send(kFailureTag, fmt::format("exception in peer: {}", e.what()));
    ++forward->count;
  } catch (...) {
    self.channel().send(kFailureTag, "unknown exception in peer");
    ++forward->count;
  }
  const int status = forward->count == 0 ? 0 : 1;
  try {
    self.channel().send(kDoneTag);
  } catch (...) {
  }
  // _exit, not exit: the controller's atexit handlers and GoogleTest's state are not ours.
  ::_exit(status);
}

Peer::Peer(std::string name, pid_t pid, Channel channel, Clock::time_point deadline)
    : name_(std::move(name)), pid_(pid), channel_(std::move(channel)), deadline_(deadline) {}

Peer::~Peer() {
  // A peer still running when its case ends is killed, so no process outlives its case.
  if (!joined_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::optional<Message> Peer::next_message(std::string_view waiting_for) {
  while (!finished_) {
    Message m;
    try {
      m = channel_.receive(deadline_, waiting_for);
    } catch (const CaseError&) {
      if (Clock::now() >= deadline_) {
        throw CaseError(fmt::format("peer '{}' did not say '{}' before the deadline; it is {}",
                                    name_, waiting_for, read_process_state(pid_).describe()));
      }
      finished_ = true;  // channel closed: the peer is gone
      break;
    }
    if (m.tag == kFailureTag) {
      failures_.push_back(std::move(m.payload));
    } else if (m.tag == kDoneTag) {
      finished_ = true;
    } else {
      return m;
    }
  }
  return std::nullopt;
}

void Peer::fail_early(std::string_view waiting_for) {
  const PeerOutcome outcome = join();
  std::string text =
      fmt::format("peer '{}' {} before it said '{}'", name_, outcome.describe(), waiting_for);
  for (const auto& failure : outcome.failures) text += "\n  " + failure;
  throw CaseError(text);
}

void Peer::await(std::string_view word) {
  std::optional<Message> m = next_message(word);
  while (m && m->tag.starts_with(kValuePrefix)) {
    values_[m->tag.substr(kValuePrefix.size())].push_back(std::move(m->payload));
    m = next_message(word);
  }
  if (!m) fail_early(word);
  if (m->tag != kWordTag || m->payload != word)
    throw CaseError(fmt::format("controller waited for peer '{}' to say '{}' but it said '{}'",
                                name_, word, m->payload));
}

std::string Peer::value(std::string_view tag) {
  while (true) {
    if (auto queued = values_.find(tag); queued != values_.end() && !queued->second.empty()) {
      std::string v = std::move(queued->second.front());
      queued->second.pop_front();
      return v;
    }
    const std::string wanted = fmt::format("{}{}", kValuePrefix, tag);
    std::optional<Message> m = next_message(wanted);
    if (!m) fail_early(wanted);
    if (!m->tag.starts_with(kValuePrefix))
      throw CaseError(
          fmt::format("controller waited for value '{}' from peer '{}' but it said '{}'", tag,
                      name_, m->payload));
    values_[m->tag.substr(kValuePrefix.size())].push_back(std::move(m->payload));
  }
}

void Peer::wait_until_blocked_in(std::string_view syscall) {
  const long nr = syscall_number(std::string(syscall));
  if (nr < 0)
    throw CaseError(fmt::format("'{}' is not a syscall name on this architecture", syscall));
  const ProcessState last = poll_until(deadline_, [&] {
    ProcessState s = read_process_state(pid_);
    return std::pair{s.blocked_in(nr) || s.gone() || s.state == 'Z', s};
  });
  if (!last.blocked_in(nr))
    throw CaseError(fmt::format("peer '{}' was expected to block in {} but is {}", name_, syscall,
                                last.describe()));
}

void Peer::send_signal(int sig) {
  if (::kill(pid_, sig) != 0)
    throw CaseError(fmt::format("kill({}, {}): {}", pid_, signal_name(sig), std::strerror(errno)));
}

void Peer::wait_until_delivered(int sig) {
  const bool pending = poll_until(deadline_, [&] {
    const bool still = signal_pending(pid_, sig);
    return std::pair{!still, still};
  });
  if (pending)
    throw CaseError(fmt::format("{} stayed pending for peer '{}' until the deadline; it is {}",
                                signal_name(sig), name_, read_process_state(pid_).describe()));
}

PeerOutcome Peer::kill_now() {
  send_signal(SIGKILL);
  const PeerOutcome outcome = join();
  report_failures_as_test_failures(outcome);
  return outcome;
}

// After the case has failed, the controller may join a peer that waits for what the failed
// case will now never do (a byte it was to send, a connection it was to accept): waiting
// would turn the failure into a hang. A peer seen asleep in one system call for
// kLeftBlocked is ended, and the failures say where it was.
void Peer::end_if_left_blocked() {
  constexpr auto kLeftBlocked = std::chrono::milliseconds(300);
  std::optional<long> call;
  bool asleep = false;
  Clock::time_point since = Clock::now();
  poll_until(deadline_, [&] {
    const ProcessState s = read_process_state(pid_);
    if (s.gone() || s.state == 'Z') return std::pair{true, 0};
    const bool now_asleep = s.state == 'S' && (s.syscall || s.syscall_unknown);
    if (now_asleep != asleep || s.syscall != call) {
      asleep = now_asleep, call = s.syscall, since = Clock::now();
      return std::pair{false, 0};
    }
    if (!asleep || Clock::now() - since < kLeftBlocked) return std::pair{false, 0};
    ::kill(pid_, SIGKILL);
    failures_.push_back(fmt::format("peer '{}' was left {} by the case's failure, and was ended",
                                    name_, s.describe()));
    return std::pair{true, 0};
  });
}

PeerOutcome Peer::join() {
  if (joined_) return outcome_;
  if (::testing::Test::HasFailure()) end_if_left_blocked();
  // Drain the channel first: a peer may still be sending failures or values.
  try {
    while (next_message("its end")) {
    }
  } catch (const CaseError&) {
    // Deadline: the peer is still running. Kill it so the join below is bounded.
    ::kill(pid_, SIGKILL);
    failures_.push_back(fmt::format("peer '{}' was still running at the case's deadline: {}", name_,
                                    read_process_state(pid_).describe()));
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  joined_ = true;
  outcome_.status = ExitStatus::from_wait_status(status);
  outcome_.failures = failures_;
  channel_.close();
  return outcome_;
}

void Peer::report_failures_as_test_failures(const PeerOutcome& outcome) {
  if (failures_reported_) return;
  failures_reported_ = true;
  for (const auto& failure : outcome.failures)
    ADD_FAILURE() << "in peer '" << name_ << "': " << failure;
}

void Peer::expect_clean_exit() {
  const PeerOutcome outcome = join();
  report_failures_as_test_failures(outcome);
  if (!outcome.status.exited || (outcome.status.code != 0 && outcome.failures.empty()))
    ADD_FAILURE() << "peer '" << name_ << "' " << outcome.describe() << "; expected a clean exit";
}

void Peer::expect_killed_by(int sig) {
  const PeerOutcome outcome = join();
  report_failures_as_test_failures(outcome);
  if (outcome.status.exited || outcome.status.signal != sig)
    ADD_FAILURE() << "peer '" << name_ << "' " << outcome.describe()
                  << "; expected it to be killed by " << signal_name(sig);
}

}  // namespace sockspec
