#include "script/constants.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "os/names.h"

namespace sockspec::script {

namespace {

#define NAMED(x)                      \
  std::pair<std::string_view, long> { \
#x, static_cast < long>(x)        \
  }
// SO_PEERPIDFD and SO_PASSPIDFD (Linux 6.5) are newer than glibc 2.36's headers.
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SOL_UNIX
#define SOL_UNIX 270
#endif
constexpr long kSockfsMagic = 0x534F434B;  // SOCKFS_MAGIC, <linux/magic.h>

constexpr std::array kConstants{
    // Families, types, flags of socket().
    NAMED(AF_UNIX),
    NAMED(AF_LOCAL),
    NAMED(AF_INET),
    NAMED(AF_INET6),
    NAMED(AF_UNSPEC),
    NAMED(SOCK_STREAM),
    NAMED(SOCK_DGRAM),
    NAMED(SOCK_SEQPACKET),
    NAMED(SOCK_RAW),
    NAMED(SOCK_RDM),
    NAMED(SOCK_PACKET),
    NAMED(SOCK_DCCP),
    NAMED(SOCK_NONBLOCK),
    NAMED(SOCK_CLOEXEC),
    // Flags of send and recv, and msg_flags.
    NAMED(MSG_OOB),
    NAMED(MSG_PEEK),
    NAMED(MSG_DONTROUTE),
    NAMED(MSG_CTRUNC),
    NAMED(MSG_TRUNC),
    NAMED(MSG_DONTWAIT),
    NAMED(MSG_EOR),
    NAMED(MSG_WAITALL),
    NAMED(MSG_CONFIRM),
    NAMED(MSG_ERRQUEUE),
    NAMED(MSG_NOSIGNAL),
    NAMED(MSG_MORE),
    NAMED(MSG_CMSG_CLOEXEC),
    NAMED(MSG_WAITFORONE),
    // shutdown().
    NAMED(SHUT_RD),
    NAMED(SHUT_WR),
    NAMED(SHUT_RDWR),
    // Socket options.
    NAMED(SOL_SOCKET),
    NAMED(SOL_UNIX),
    NAMED(SO_TYPE),
    NAMED(SO_DOMAIN),
    NAMED(SO_PROTOCOL),
    NAMED(SO_ERROR),
    NAMED(SO_SNDBUF),
    NAMED(SO_RCVBUF),
    NAMED(SO_SNDBUFFORCE),
    NAMED(SO_RCVBUFFORCE),
    NAMED(SO_PASSCRED),
    NAMED(SO_PEERCRED),
    NAMED(SO_ACCEPTCONN),
    NAMED(SO_PEEK_OFF),
    NAMED(SO_REUSEADDR),
    NAMED(SO_KEEPALIVE),
    NAMED(SO_LINGER),
    NAMED(SO_SNDLOWAT),
    NAMED(SO_RCVLOWAT),
    NAMED(SO_PASSSEC),
    NAMED(SO_PEERSEC),
    NAMED(SO_RCVTIMEO),
    NAMED(SO_SNDTIMEO),
    NAMED(SO_OOBINLINE),
    NAMED(SO_PRIORITY),
    NAMED(SO_BROADCAST),
    NAMED(SO_DEBUG),
    NAMED(SO_TIMESTAMP),
    NAMED(SO_PASSPIDFD),
    NAMED(SO_PEERPIDFD),
    // fcntl() and open().
    NAMED(F_GETFL),
    NAMED(F_SETFL),
    NAMED(F_GETFD),
    NAMED(F_SETFD),
    NAMED(F_DUPFD),
    NAMED(F_DUPFD_CLOEXEC),
    NAMED(F_GETOWN),
    NAMED(F_SETOWN),
    NAMED(FD_CLOEXEC),
    NAMED(O_NONBLOCK),
    NAMED(O_RDWR),
    NAMED(O_RDONLY),
    NAMED(O_WRONLY),
    NAMED(O_CREAT),
    NAMED(O_EXCL),
    NAMED(O_CLOEXEC),
    NAMED(O_PATH),
    NAMED(O_NOFOLLOW),
    NAMED(O_DIRECTORY),
    NAMED(O_ASYNC),
    // File types and modes (stat's st_mode), and fstatfs's f_type.
    NAMED(S_IFSOCK),
    NAMED(S_IFREG),
    NAMED(S_IFDIR),
    NAMED(S_IFLNK),
    NAMED(S_IFIFO),
    std::pair<std::string_view, long>{"SOCKFS_MAGIC", kSockfsMagic},
    // poll(), select(), epoll.
    NAMED(POLLIN),
    NAMED(POLLOUT),
    NAMED(POLLERR),
    NAMED(POLLHUP),
    NAMED(POLLRDHUP),
    NAMED(POLLPRI),
    NAMED(POLLNVAL),
    NAMED(POLLRDNORM),
    NAMED(POLLWRNORM),
    NAMED(EPOLLIN),
    NAMED(EPOLLOUT),
    NAMED(EPOLLERR),
    NAMED(EPOLLHUP),
    NAMED(EPOLLRDHUP),
    NAMED(EPOLLPRI),
    NAMED(EPOLLET),
    NAMED(EPOLLONESHOT),
    NAMED(EPOLL_CLOEXEC),
    NAMED(EPOLL_CTL_ADD),
    NAMED(EPOLL_CTL_MOD),
    NAMED(EPOLL_CTL_DEL),
    // ioctl().
    NAMED(FIONREAD),
    NAMED(FIONBIO),
    NAMED(TIOCOUTQ),
    NAMED(SIOCINQ),
    NAMED(SIOCOUTQ),
    NAMED(SIOCATMARK),
    NAMED(FIOSETOWN),
    NAMED(SIOCSPGRP),
    // Signals and sigaction().
    NAMED(SIGPIPE),
    NAMED(SIGUSR1),
    NAMED(SIGUSR2),
    NAMED(SIGINT),
    NAMED(SIGTERM),
    NAMED(SIGKILL),
    NAMED(SIGCHLD),
    NAMED(SIGALRM),
    NAMED(SIGURG),
    NAMED(SIGHUP),
    NAMED(SIGIO),
    NAMED(SIG_BLOCK),
    NAMED(SIG_UNBLOCK),
    NAMED(SIG_SETMASK),
    NAMED(SA_RESTART),
    NAMED(SA_NODEFER),
    NAMED(SA_RESETHAND),
};
#undef NAMED

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::optional<long> constant_value(std::string_view name) {
  for (const auto& [n, v] : kConstants)
    if (n == name) return v;
  // An errno is a number too: SO_ERROR's value (`= ECONNRESET`).
  if (const auto e = errno_value(name)) return *e;
  return std::nullopt;
}

std::string nearest_name(std::string_view name, const std::vector<std::string_view>& names) {
  std::string best;
  std::size_t best_distance = 4;
  for (const auto candidate : names)
    if (const std::size_t d = edit_distance(name, candidate); d < best_distance)
      best = candidate, best_distance = d;
  return best;
}

std::string nearest_constant(std::string_view name) {
  std::vector<std::string_view> names;
  for (const auto& [n, v] : kConstants) names.push_back(n);
  return nearest_name(name, names);
}

std::string nearest_errno(std::string_view name) {
  std::vector<std::string> storage;
  for (int e = 1; e < 134; ++e) storage.push_back(errno_name(e));
  return nearest_name(name, {storage.begin(), storage.end()});
}

std::optional<int> errno_value(std::string_view name) {
  for (int e = 1; e < 134; ++e)
    if (errno_name(e) == name) return e;
  if (name == "EWOULDBLOCK") return EWOULDBLOCK;
  return std::nullopt;
}

std::optional<int> signal_value(std::string_view name) {
  for (int s = 1; s < NSIG; ++s)
    if (signal_name(s) == name) return s;
  return std::nullopt;
}

std::string file_mode_name(long mode) {
  static const std::pair<long, const char*> kTypes[] = {
      {S_IFSOCK, "S_IFSOCK"}, {S_IFLNK, "S_IFLNK"}, {S_IFREG, "S_IFREG"}, {S_IFBLK, "S_IFBLK"},
      {S_IFDIR, "S_IFDIR"},   {S_IFCHR, "S_IFCHR"}, {S_IFIFO, "S_IFIFO"}};
  std::string type = "0";
  for (const auto& [bits, name] : kTypes)
    if ((mode & S_IFMT) == bits) type = name;
  return fmt::format("{}|0{:o}", type, mode & 07777);
}

std::string events_name(int events, std::string_view prefix) {
  std::string out;
  for (const auto& [n, v] : kConstants) {
    if (!n.starts_with(prefix) || n.ends_with("RDNORM") || n.ends_with("WRNORM") ||
        n.starts_with("EPOLL_") || n == "EPOLLET" || n == "EPOLLONESHOT")
      continue;
    if ((events & v) == 0) continue;
    if (!out.empty()) out += '|';
    out += n;
    events &= static_cast<int>(~v);
  }
  if (events != 0) out += (out.empty() ? "" : "|") + std::to_string(events);
  return out.empty() ? "0" : out;
}

}  // namespace sockspec::script
