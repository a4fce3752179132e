#include "case/call.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "os/case_error.h"
#include "os/names.h"
#include "os/quote.h"

namespace sockspec {

std::string CallResult::describe() const {
  std::string text = call + " = ";
  if (failed()) return text + "-1 " + errno_name(err);
  text += std::to_string(value);
  if (!fds.empty()) text += fmt::format(" [{}]", fmt::join(fds, ", "));
  if (!data.empty() || call.starts_with("recv") || call.starts_with("read"))
    text += " " + quote_bytes(data);
  // getsockname/getpeername return the address itself; receives and accept say whose it is.
  if (address) text += (call.starts_with("get") ? " " : " from ") + address->describe();
  if (msg_flags != 0) text += " msg_flags=" + msg_flags_name(msg_flags);
  return text;
}

void PrintTo(const CallResult& result, std::ostream* os) {
  *os << result.describe();
}

Fd open_socket(int type) {
  return Fd(static_cast<int>(must(call::socket(AF_UNIX, type, 0)).value));
}

std::string shutdown_how_name(int how) {
  switch (how) {
    case SHUT_RD:
      return "SHUT_RD";
    case SHUT_WR:
      return "SHUT_WR";
    case SHUT_RDWR:
      return "SHUT_RDWR";
    default:
      return std::to_string(how);
  }
}

CallResult must(CallResult result) {
  if (result.failed()) throw CaseError(fmt::format("set-up step failed: {}", result.describe()));
  return result;
}

namespace call {
namespace {

// Fills value and errno from a libc return value; errno is read only on failure.
CallResult finish(std::string text, long value) {
  CallResult r;
  r.err = value == -1 ? errno : 0;
  r.call = std::move(text);
  r.value = value;
  return r;
}

std::string domain_name(int domain) {
  return domain == AF_UNIX ? "AF_UNIX" : std::to_string(domain);
}

}  // namespace

CallResult socket(int domain, int type, int protocol) {
  const int fd = ::socket(domain, type, protocol);
  return finish(
      fmt::format("socket({}, {}, {})", domain_name(domain), socket_type_name(type), protocol), fd);
}

CallResult socketpair(int domain, int type, int protocol) {
  int sv[2] = {-1, -1};
  const int rc = ::socketpair(domain, type, protocol, sv);
  CallResult r = finish(
      fmt::format("socketpair({}, {}, {})", domain_name(domain), socket_type_name(type), protocol),
      rc);
  if (rc == 0) r.fds = {sv[0], sv[1]};
  return r;
}

CallResult bind(int fd, const UnixAddress& address) {
  const int rc = ::bind(fd, address.get(), address.length());
  return finish(fmt::format("bind({}, {})", fd, address.describe()), rc);
}

CallResult connect(int fd, const UnixAddress& address) {
  const int rc = ::connect(fd, address.get(), address.length());
  return finish(fmt::format("connect({}, {})", fd, address.describe()), rc);
}

CallResult listen(int fd, int backlog) {
  return finish(fmt::format("listen({}, {})", fd, backlog), ::listen(fd, backlog));
}

CallResult accept(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof(peer);
  const int rc = ::accept(fd, reinterpret_cast<sockaddr*>(&peer), &length);
  CallResult r = finish(fmt::format("accept({})", fd), rc);
  if (rc >= 0) r.address = UnixAddress::from_kernel(peer, length);
  return r;
}

CallResult send(int fd, std::string_view bytes, int flags) {
  const ssize_t n = ::send(fd, bytes.data(), bytes.size(), flags);
  return finish(fmt::format("send({}, {}, {})", fd, quote_bytes(bytes, 24), msg_flags_name(flags)),
                n);
}

CallResult sendto(int fd, std::string_view bytes, int flags, const UnixAddress& to) {
  const ssize_t n = ::sendto(fd, bytes.data(), bytes.size(), flags, to.get(), to.length());
  return finish(fmt::format("sendto({}, {}, {}, {})", fd, quote_bytes(bytes, 24),
                            msg_flags_name(flags), to.describe()),
                n);
}

CallResult recv(int fd, std::size_t length, int flags) {
  std::string buffer(length, '\0');
  const ssize_t n = ::recv(fd, buffer.data(), length, flags);
  CallResult r = finish(fmt::format("recv({}, {}, {})", fd, length, msg_flags_name(flags)), n);
  if (n > 0)
    buffer.resize(std::min<std::size_t>(static_cast<std::size_t>(n), length)), r.data = buffer;
  return r;
}

CallResult recvfrom(int fd, std::size_t length, int flags) {
  std::string buffer(length, '\0');
  sockaddr_storage from{};
  socklen_t from_length = sizeof(from);
  const ssize_t n = ::recvfrom(fd, buffer.data(), length, flags, reinterpret_cast<sockaddr*>(&from),
                               &from_length);
  CallResult r = finish(fmt::format("recvfrom({}, {}, {})", fd, length, msg_flags_name(flags)), n);
  if (n >= 0) {
    buffer.resize(std::min<std::size_t>(static_cast<std::size_t>(n), length));
    r.data = buffer;
    r.address = UnixAddress::from_kernel(from, from_length);
  }
  return r;
}

CallResult recvmsg(int fd, std::size_t length, int flags) {
  std::string buffer(length, '\0');
  iovec iov{buffer.data(), length};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const ssize_t n = ::recvmsg(fd, &msg, flags);
  CallResult r = finish(fmt::format("recvmsg({}, {}, {})", fd, length, msg_flags_name(flags)), n);
  if (n >= 0) {
    buffer.resize(std::min<std::size_t>(static_cast<std::size_t>(n), length));
    r.data = buffer;
    r.msg_flags = msg.msg_flags;
  }
  return r;
}

CallResult write(int fd, std::string_view bytes) {
  const ssize_t n = ::write(fd, bytes.data(), bytes.size());
  return finish(fmt::format("write({}, {})", fd, quote_bytes(bytes, 24)), n);
}

CallResult read(int fd, std::size_t length) {
  std::string buffer(length, '\0');
  const ssize_t n = ::read(fd, buffer.data(), length);
  CallResult r = finish(fmt::format("read({}, {})", fd, length), n);
  if (n > 0) buffer.resize(static_cast<std::size_t>(n)), r.data = buffer;
  return r;
}

CallResult shutdown(int fd, int how) {
  return finish(fmt::format("shutdown({}, {})", fd, shutdown_how_name(how)), ::shutdown(fd, how));
}

CallResult close(int fd) {
  return finish(fmt::format("close({})", fd), ::close(fd));
}

namespace {
template <typename Fn>
CallResult name_query(const char* name, int fd, Fn fn) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  const int rc = fn(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  CallResult r = finish(fmt::format("{}({})", name, fd), rc);
  if (rc == 0) r.address = UnixAddress::from_kernel(storage, length);
  return r;
}
}  // namespace

CallResult getsockname(int fd) {
  return name_query("getsockname", fd, ::getsockname);
}
CallResult getpeername(int fd) {
  return name_query("getpeername", fd, ::getpeername);
}

namespace {
std::string fcntl_command_name(int cmd) {
  switch (cmd) {
    case F_GETFL:
      return "F_GETFL";
    case F_SETFL:
      return "F_SETFL";
    case F_GETFD:
      return "F_GETFD";
    case F_SETFD:
      return "F_SETFD";
    default:
      return std::to_string(cmd);
  }
}

// "O_RDWR|O_NONBLOCK", as strace shows file status flags.
std::string file_status_flags_name(int flags) {
  std::string text = (flags & O_ACCMODE) == O_RDONLY   ? "O_RDONLY"
                     : (flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
                     : (flags & O_ACCMODE) == O_RDWR   ? "O_RDWR"
                                                       : fmt::format("{:#o}", flags & O_ACCMODE);
  int rest = flags & ~O_ACCMODE;
  for (auto [bit, name] : {std::pair{O_NONBLOCK, "O_NONBLOCK"}, std::pair{O_APPEND, "O_APPEND"},
                           std::pair{O_ASYNC, "O_ASYNC"}})
    if (rest & bit) text += fmt::format("|{}", name), rest &= ~bit;
  if (rest) text += fmt::format("|{:#o}", rest);
  return text;
}
}  // namespace

CallResult fcntl(int fd, int cmd, int arg) {
  const int rc = ::fcntl(fd, cmd, arg);
  if (cmd == F_GETFL || cmd == F_GETFD)
    return finish(fmt::format("fcntl({}, {})", fd, fcntl_command_name(cmd)), rc);
  const std::string shown = cmd == F_SETFL ? file_status_flags_name(arg) : std::to_string(arg);
  return finish(fmt::format("fcntl({}, {}, {})", fd, fcntl_command_name(cmd), shown), rc);
}

CallResult dup(int fd) {
  return finish(fmt::format("dup({})", fd), ::dup(fd));
}

namespace {
std::string socket_option_name(int level, int name) {
  if (level != SOL_SOCKET) return fmt::format("{}, {}", level, name);
  switch (name) {
    case SO_PASSCRED:
      return "SOL_SOCKET, SO_PASSCRED";
    case SO_PASSSEC:
      return "SOL_SOCKET, SO_PASSSEC";
    case SO_SNDBUF:
      return "SOL_SOCKET, SO_SNDBUF";
    case SO_RCVBUF:
      return "SOL_SOCKET, SO_RCVBUF";
    case SO_PEEK_OFF:
      return "SOL_SOCKET, SO_PEEK_OFF";
    default:
      return fmt::format("SOL_SOCKET, {}", name);
  }
}
}  // namespace

CallResult setsockopt(int fd, int level, int name, int value) {
  const int rc = ::setsockopt(fd, level, name, &value, sizeof(value));
  return finish(fmt::format("setsockopt({}, {}, {})", fd, socket_option_name(level, name), value),
                rc);
}

CallResult getsockopt(int fd, int level, int name) {
  int value = 0;
  socklen_t length = sizeof(value);
  const int rc = ::getsockopt(fd, level, name, &value, &length);
  CallResult r = finish(fmt::format("getsockopt({}, {})", fd, socket_option_name(level, name)), rc);
  if (rc == 0) r.value = value;
  return r;
}

// accept4's flags are SOCK_NONBLOCK and SOCK_CLOEXEC only: "0", "SOCK_NONBLOCK|SOCK_CLOEXEC".
std::string accept4_flags_name(int flags) {
  std::string names;
  if (flags & SOCK_NONBLOCK) names += "SOCK_NONBLOCK";
  if (flags & SOCK_CLOEXEC) names += names.empty() ? "SOCK_CLOEXEC" : "|SOCK_CLOEXEC";
  if (const int rest = flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
    names += fmt::format("{}{:#x}", names.empty() ? "" : "|", rest);
  return names.empty() ? "0" : names;
}

CallResult accept4(int fd, int flags) {
  sockaddr_storage peer{};
  socklen_t length = sizeof(peer);
  const int rc = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer), &length, flags);
  CallResult r = finish(fmt::format("accept4({}, {})", fd, accept4_flags_name(flags)), rc);
  if (rc >= 0) r.address = UnixAddress::from_kernel(peer, length);
  return r;
}

namespace {
// Room for the ancillary data a case can receive: up to 16 fds and one set of credentials.
constexpr std::size_t kMaxRights = 16;
union ControlBuffer {
  char bytes[CMSG_SPACE(sizeof(int) * kMaxRights) + CMSG_SPACE(sizeof(ucred))];
  cmsghdr align;
};
}  // namespace

CallResult sendmsg(int fd, std::string_view bytes, int flags, const std::vector<int>& rights,
                   bool credentials) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ControlBuffer control{};
  std::size_t used = 0;
  if (!rights.empty()) used += CMSG_SPACE(sizeof(int) * rights.size());
  if (credentials) used += CMSG_SPACE(sizeof(ucred));
  if (used > 0) {
    msg.msg_control = control.bytes;
    msg.msg_controllen = used;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (!rights.empty()) {
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int) * rights.size());
      std::memcpy(CMSG_DATA(cmsg), rights.data(), sizeof(int) * rights.size());
      cmsg = CMSG_NXTHDR(&msg, cmsg);
    }
    if (credentials) {
      const ucred mine{::getpid(), ::getuid(), ::getgid()};
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_CREDENTIALS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(ucred));
      std::memcpy(CMSG_DATA(cmsg), &mine, sizeof(mine));
    }
  }
  const ssize_t n = ::sendmsg(fd, &msg, flags);
  std::string extra;
  if (!rights.empty()) extra += fmt::format(", SCM_RIGHTS({})", fmt::join(rights, ", "));
  if (credentials) extra += ", SCM_CREDENTIALS";
  return finish(fmt::format("sendmsg({}, {}, {}{})", fd, quote_bytes(bytes, 24),
                            msg_flags_name(flags), extra),
                n);
}

CallResult recvmsg_with_control(int fd, std::size_t length, int flags, std::size_t control_length) {
  std::string buffer(length, '\0');
  iovec iov{buffer.data(), length};
  sockaddr_storage from{};
  ControlBuffer control{};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = std::min(control_length, sizeof(control.bytes));
  const ssize_t n = ::recvmsg(fd, &msg, flags);
  const std::string control_note =
      control_length < sizeof(control.bytes) ? fmt::format(", controllen={}", control_length) : "";
  CallResult r = finish(
      fmt::format("recvmsg({}, {}, {}{})", fd, length, msg_flags_name(flags), control_note), n);
  if (n < 0) return r;
  buffer.resize(std::min<std::size_t>(static_cast<std::size_t>(n), length));
  r.data = buffer;
  r.msg_flags = msg.msg_flags;
  r.address = UnixAddress::from_kernel(from, msg.msg_namelen);
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET) continue;
    if (cmsg->cmsg_type == SCM_RIGHTS) {
      const std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int received = -1;
        std::memcpy(&received, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
        r.fds.push_back(received);
      }
    } else if (cmsg->cmsg_type == SCM_CREDENTIALS) {
      ucred creds{};
      std::memcpy(&creds, CMSG_DATA(cmsg), sizeof(creds));
      r.credentials = creds;
    }
  }
  return r;
}

CallResult ioctl_fionread(int fd) {
  int queued = 0;
  const int rc = ::ioctl(fd, FIONREAD, &queued);
  CallResult r = finish(fmt::format("ioctl({}, FIONREAD)", fd), rc);
  if (rc == 0) r.value = queued;
  return r;
}

CallResult poll(int fd, int events, int timeout_ms) {
  pollfd pfd{fd, static_cast<short>(events), 0};
  const int rc = ::poll(&pfd, 1, timeout_ms);
  CallResult r = finish(fmt::format("poll({}, {:#x}, {})", fd, events, timeout_ms), rc);
  r.revents = pfd.revents;
  return r;
}

}  // namespace call
}  // namespace sockspec
