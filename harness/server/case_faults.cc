#include "server/case_faults.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "protocol/case_protocol.h"

namespace sockspec {

namespace {

// The handler only has to exist: a call asleep when a caught signal arrives ends with EINTR,
// or is restarted if the handler was installed with SA_RESTART (signal(7)).
void note_signal(int) {}

void install_signal_handler(const std::string& how) {
  if (how != "restart" && how != "interrupt")
    throw std::runtime_error(fmt::format("{}={}: expected 'restart' or 'interrupt'",
                                         protocol::kFaultSignalVariable, how));
  struct sigaction action = {};
  action.sa_handler = note_signal;
  action.sa_flags = how == "restart" ? SA_RESTART : 0;
  sigemptyset(&action.sa_mask);
  if (::sigaction(protocol::kFaultSignal, &action, nullptr) != 0)
    throw std::runtime_error(
        fmt::format("sigaction({}): {}", protocol::kFaultSignalName, std::strerror(errno)));
}

// The soft limit, so that exactly `room` more fds can be opened: new fds take the lowest
// free numbers, and a number at or above the limit is refused (EMFILE). Returns the limit
// it replaced.
rlimit leave_fd_room(const std::string& text) {
  char* end = nullptr;
  const long room = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || room < 0)
    throw std::runtime_error(
        fmt::format("{}={}: expected a number of fds", protocol::kFaultRoomVariable, text));
  long fd = 0;
  for (long free_seen = 0;; ++fd) {
    if (::fcntl(static_cast<int>(fd), F_GETFD) != -1 || errno != EBADF) continue;
    if (free_seen++ == room) break;
  }
  rlimit before{};
  ::getrlimit(RLIMIT_NOFILE, &before);
  rlimit limit = before;
  limit.rlim_cur = static_cast<rlim_t>(fd);
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    throw std::runtime_error(
        fmt::format("setrlimit(RLIMIT_NOFILE, {}): {}", fd, std::strerror(errno)));
  return before;
}

}  // namespace

void CaseFaults::OnTestStart(const ::testing::TestInfo&) {
  try {
    if (const std::string how = protocol::variable(protocol::kFaultSignalVariable); !how.empty())
      install_signal_handler(how);
    if (const std::string room = protocol::variable(protocol::kFaultRoomVariable); !room.empty())
      saved_fd_limit_ = leave_fd_room(room);
  } catch (const std::exception& e) {
    // Before the case has begun: no failure can be recorded against it yet.
    fmt::print(stderr, "sockspec: cannot set up the fault: {}\n", e.what());
    std::exit(2);
  }
}

// The case's harness records its result after the case: it needs its fds back.
void CaseFaults::OnTestEnd(const ::testing::TestInfo&) {
  if (saved_fd_limit_) ::setrlimit(RLIMIT_NOFILE, &*saved_fd_limit_);
  saved_fd_limit_.reset();
}

}  // namespace sockspec
