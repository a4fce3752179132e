#include "os/pipe_write.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace sockspec {
namespace {

sigset_t sigpipe_only() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  return set;
}

}  // namespace

ssize_t write_without_sigpipe(int fd, const void* data, std::size_t size) {
  const sigset_t pipe_only = sigpipe_only();
  sigset_t previous, pending;
  ::pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  ::sigpending(&pending);
  const bool pending_before = sigismember(&pending, SIGPIPE) == 1;
  const ssize_t n = ::write(fd, data, size);
  const int error = errno;
  if (n < 0 && error == EPIPE && !pending_before) {
    const timespec now{};
    ::sigtimedwait(&pipe_only, nullptr, &now);
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = error;
  return n;
}

void take_pending_sigpipes() {
  const sigset_t pipe_only = sigpipe_only();
  const timespec now{};
  while (::sigtimedwait(&pipe_only, nullptr, &now) == SIGPIPE) {
  }
}

}  // namespace sockspec
