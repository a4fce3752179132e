// libc socket calls that remember what they were asked and what they got.
//
// Each function calls the libc function of the same name exactly once and returns a
// CallResult: the call written out with its arguments, the return value, errno, and what
// came back (bytes, an address, flags, new fds). Matchers in expect.h compare them, so a
// failed expectation reads as `send(5, "x", MSG_DONTWAIT) = -1 EPIPE`.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "case/address.h"
#include "os/fd.h"

namespace sockspec {

struct CallResult {
  std::string call;                    // `recv(5, 16, MSG_DONTWAIT)`
  long value = 0;                      // what the function returned
  int err = 0;                         // errno, when value == -1
  std::string data;                    // bytes received
  std::optional<UnixAddress> address;  // address written back by the kernel
  int msg_flags = 0;                   // recvmsg's msghdr.msg_flags
  std::vector<int> fds;                // socketpair's two fds; fds received with SCM_RIGHTS
  std::optional<ucred> credentials;    // received with SCM_CREDENTIALS
  int revents = 0;                     // poll

  bool failed() const { return value == -1; }
  // `send(5, "x", 0) = 1`, `recv(5, 16, 0) = 3 "abc"`, `bind(3, "srv") = -1 EADDRINUSE`
  std::string describe() const;
};

void PrintTo(const CallResult& result, std::ostream* os);  // how GoogleTest shows it

namespace call {

// A libc call none of the wrappers below can make (a raw pointer, an iovec array), recorded
// the way they record theirs, so that FailsWith() shows it: `send(3, <PROT_NONE page>, 1, 0)`.
template <typename Function>
CallResult attempt(std::string text, Function&& function) {
  const long value = static_cast<long>(function());
  const int err = errno;
  CallResult result;
  result.call = std::move(text);
  result.value = value;
  result.err = value == -1 ? err : 0;
  return result;
}

CallResult socket(int domain, int type, int protocol);
CallResult socketpair(int domain, int type, int protocol);
CallResult bind(int fd, const UnixAddress& address);
CallResult connect(int fd, const UnixAddress& address);
CallResult listen(int fd, int backlog);
CallResult accept(int fd);
CallResult send(int fd, std::string_view bytes, int flags);
CallResult sendto(int fd, std::string_view bytes, int flags, const UnixAddress& to);
CallResult recv(int fd, std::size_t length, int flags);
CallResult recvfrom(int fd, std::size_t length, int flags);
// recvmsg with one iovec of `length` bytes and no control buffer; fills msg_flags.
CallResult recvmsg(int fd, std::size_t length, int flags);
CallResult write(int fd, std::string_view bytes);
CallResult read(int fd, std::size_t length);
CallResult shutdown(int fd, int how);
CallResult close(int fd);
CallResult getsockname(int fd);
CallResult getpeername(int fd);
// fcntl with an int argument: F_GETFL (the argument is ignored), F_SETFL, F_GETFD, F_SETFD.
// The file status flags (O_NONBLOCK...) belong to the open file description, not to the fd.
CallResult fcntl(int fd, int cmd, int arg = 0);
// A second fd for the same open file description.
CallResult dup(int fd);
// setsockopt with an int value (SO_PASSCRED, SO_SNDBUF, ...).
CallResult setsockopt(int fd, int level, int name, int value);
// getsockopt of an int option; on success `value` is the option's value, not getsockopt's 0.
CallResult getsockopt(int fd, int level, int name);
CallResult accept4(int fd, int flags);
// sendmsg of `bytes` with, optionally, SCM_RIGHTS carrying `rights` and SCM_CREDENTIALS
// carrying this process's pid, uid and gid.
CallResult sendmsg(int fd, std::string_view bytes, int flags, const std::vector<int>& rights,
                   bool credentials);
// recvmsg with room for `length` bytes and `control_length` bytes of ancillary data (by
// default room for 16 fds and one ucred; a smaller buffer makes the kernel set MSG_CTRUNC);
// fills msg_flags, fds and credentials.
CallResult recvmsg_with_control(int fd, std::size_t length, int flags,
                                std::size_t control_length = SIZE_MAX);
// ioctl(FIONREAD): on success `value` is the number of bytes (or, on a datagram socket,
// the size of the next datagram) waiting to be read.
CallResult ioctl_fionread(int fd);
// poll on one fd; `revents` is filled.
CallResult poll(int fd, int events, int timeout_ms);

}  // namespace call

// Throws CaseError unless the call succeeded; for set-up steps whose failure means the case
// cannot go on (a test of that step would use an expectation instead). Returns the result.
CallResult must(CallResult result);

// A new AF_UNIX socket of `type` (SOCK_NONBLOCK etc. may be or-ed in), owned; CaseError
// when socket() fails, since a case that cannot make its socket cannot go on.
Fd open_socket(int type);

// "SHUT_RD", "SHUT_WR", "SHUT_RDWR"
std::string shutdown_how_name(int how);

}  // namespace sockspec
