// The errors every socket call shares, decided in net/socket.c before AF_UNIX is asked
// anything.
//
// The descriptor comes first. Each call looks it up (CLASS(fd) and sock_from_file(); in
// older kernels sockfd_lookup_light()): no open file there gives EBADF, and so does a
// descriptor opened with O_PATH, which fdget() does not hand out; an open file that is not a
// socket gives ENOTSOCK. Only then are the pointer arguments read or written, with
// copy_from_user()/copy_to_user(), and a pointer the process cannot read or write gives
// EFAULT. (One exception to "descriptor first": send(), sendto(), recv() and recvfrom() check
// that the data buffer lies in the user half of the address space before the descriptor, so
// a kernel address there gives EFAULT even with a bad descriptor. A PROT_NONE page passes
// that check and faults later, like every other bad pointer in these cases.) glibc hands
// every one of these pointers to the kernel untouched, so each EFAULT here is the kernel's.
//
// Where the error is found matters: an address or length read before anything is done fails
// the call with nothing changed, but an address written back after a receive or an accept
// fails it with the message or connection already taken off the queue, and lost.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "case/address.h"
#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/memory.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/case_error.h"
#include "os/fd.h"
#include "os/names.h"

namespace sockspec {
namespace {

// How the call texts show the pointers they were given.
constexpr const char* kGuard = "<PROT_NONE page>";

// The descriptor open() gives next: the lowest free one (open(2)).
int lowest_free_fd() {
  Fd probe(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!probe.valid()) throw CaseError("open(/dev/null): " + errno_name(errno));
  return probe.get();
}

Fd open_file(const std::string& path, int flags) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid()) throw CaseError(fmt::format("open({}): {}", path, errno_name(errno)));
  return fd;
}

// For a call that returns a new descriptor and is expected to fail: closes the descriptor
// if the call succeeded after all, so that no case leaves one open whatever the target does.
CallResult closing_new_fd(CallResult result) {
  if (!result.failed()) ::close(static_cast<int>(result.value));
  return result;
}

struct SocketCall {
  const char* name;
  std::function<CallResult(int fd)> call;
};

// Every socket call that takes a descriptor, with arguments that would be valid for an
// AF_UNIX socket, so that the descriptor is the only thing wrong. MSG_DONTWAIT, so that
// an implementation that wrongly goes on cannot block.
std::vector<SocketCall> every_socket_call(const UnixAddress& address) {
  return {
      {"bind", [=](int fd) { return call::bind(fd, address); }},
      {"connect", [=](int fd) { return call::connect(fd, address); }},
      {"listen", [](int fd) { return call::listen(fd, 4); }},
      {"accept", [](int fd) { return closing_new_fd(call::accept(fd)); }},
      {"accept4", [](int fd) { return closing_new_fd(call::accept4(fd, SOCK_CLOEXEC)); }},
      {"getsockname", [](int fd) { return call::getsockname(fd); }},
      {"getpeername", [](int fd) { return call::getpeername(fd); }},
      {"send", [](int fd) { return call::send(fd, "x", MSG_DONTWAIT); }},
      {"sendto", [=](int fd) { return call::sendto(fd, "x", MSG_DONTWAIT, address); }},
      {"sendmsg", [](int fd) { return call::sendmsg(fd, "x", MSG_DONTWAIT, {}, false); }},
      {"recv", [](int fd) { return call::recv(fd, 16, MSG_DONTWAIT); }},
      {"recvfrom", [](int fd) { return call::recvfrom(fd, 16, MSG_DONTWAIT); }},
      {"recvmsg", [](int fd) { return call::recvmsg(fd, 16, MSG_DONTWAIT); }},
      {"shutdown", [](int fd) { return call::shutdown(fd, SHUT_RDWR); }},
      {"getsockopt", [](int fd) { return call::getsockopt(fd, SOL_SOCKET, SO_TYPE); }},
      {"setsockopt", [](int fd) { return call::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, 1); }},
  };
}

class GenericErrorsTest : public CaseTest {
 protected:
  // Every socket call on each of `fds` (what it is, the fd) fails with `expected`.
  void expect_every_call_fails(const std::vector<std::pair<const char*, int>>& fds, int expected) {
    for (const SocketCall& c : every_socket_call(UnixAddress::pathname(here().path_name("none"))))
      for (const auto& [what, fd] : fds) {
        SCOPED_TRACE(fmt::format("{} on {}", c.name, what));
        EXPECT_THAT(c.call(fd), FailsWith(expected));
      }
  }
};

// ---------------------------------------------------------------------------------------
// The descriptor: EBADF, ENOTSOCK.

SOCKSPEC_RULE(GenericErrorsTest, InvalidDescriptorGivesEbadf,
              .text =
                  "every socket call (bind, connect, listen, accept, accept4, getsockname, "
                  "getpeername, send, sendto, sendmsg, recv, recvfrom, recvmsg, shutdown, "
                  "getsockopt, setsockopt) on -1 or on a descriptor that was just closed fails "
                  "with EBADF",
              .citation =
                  "ERRORS EBADF of bind(2), connect(2), listen(2), accept(2), getsockname(2), "
                  "getpeername(2), send(2), recv(2), shutdown(2), getsockopt(2); kernel: "
                  "__sys_bind() etc., CLASS(fd) and fd_empty() -> -EBADF",
              .catalogue = "GE-01");
TEST_F(GenericErrorsTest, InvalidDescriptorGivesEbadf) {
  const int closed = lowest_free_fd();  // open, then closed again by ~Fd
  expect_every_call_fails({{"-1", -1}, {"a descriptor just closed", closed}}, EBADF);
}

SOCKSPEC_RULE(GenericErrorsTest, NonSocketGivesEnotsock,
              .text =
                  "every socket call on an open descriptor that is not a socket (/dev/null, a "
                  "pipe) fails with ENOTSOCK",
              .citation =
                  "ERRORS ENOTSOCK of bind(2), connect(2), listen(2), accept(2), getsockname(2), "
                  "getpeername(2), send(2), recv(2), shutdown(2), getsockopt(2); kernel: "
                  "sock_from_file() returns NULL -> -ENOTSOCK",
              .catalogue = "GE-02");
TEST_F(GenericErrorsTest, NonSocketGivesEnotsock) {
  Fd dev_null = open_file("/dev/null", O_RDWR);
  int pipe_ends[2];
  ASSERT_EQ(::pipe2(pipe_ends, O_CLOEXEC | O_NONBLOCK), 0) << errno_name(errno);
  Fd pipe_read(pipe_ends[0]);
  Fd pipe_write(pipe_ends[1]);
  expect_every_call_fails({{"/dev/null", dev_null.get()}, {"pipe read end", pipe_read.get()}},
                          ENOTSOCK);
}

// An O_PATH descriptor names a file without opening it: the kernel's fdget() does not return
// it, so a socket call sees no file at all, EBADF, not ENOTSOCK. That holds even when the
// path is a listening socket's own file; the socket is reached through its path only by
// connect() and sendto().
SOCKSPEC_RULE(GenericErrorsTest, OpathDescriptorGivesEbadf,
              .text =
                  "every socket call, accept() included, on a descriptor opened with O_PATH fails "
                  "with EBADF, also when the path is the file of a listening socket",
              .citation =
                  "open(2) O_PATH (other operations \"fail with the error EBADF\"); accept(2) "
                  "EBADF; kernel: fdget() skips FMODE_PATH files, so CLASS(fd) is empty",
              .linux_note = "O_PATH since Linux 2.6.39", .catalogue = "GE-02");
TEST_F(GenericErrorsTest, OpathDescriptorGivesEbadf) {
  const std::string path = here().path_name("srv");
  Fd listener = open_socket(SOCK_STREAM | SOCK_NONBLOCK);
  must(call::bind(listener.get(), UnixAddress::pathname(path)));
  must(call::listen(listener.get(), 4));
  Fd socket_file = open_file(path, O_PATH);
  Fd dev_null = open_file("/dev/null", O_PATH);
  expect_every_call_fails({{"O_PATH fd of the listener's file", socket_file.get()},
                           {"O_PATH fd of /dev/null", dev_null.get()}},
                          EBADF);
}

// ---------------------------------------------------------------------------------------
// Pointers: EFAULT.

// bind(), connect() and sendto() copy all addrlen bytes of the address in before they look at
// it (move_addr_to_kernel()), so an unreadable address fails the call with nothing done.
SOCKSPEC_RULE(GenericErrorsTest, AddressOutsideAddressSpaceGivesEfault,
              .text =
                  "bind(), connect() and sendto() given an address the process cannot read fail "
                  "with EFAULT and leave the socket as it was: unnamed, unconnected, nothing sent",
              .citation =
                  "bind(2) ERRORS EFAULT (\"addr points outside the user's accessible address "
                  "space\"); connect(2), send(2) EFAULT; unix(7) ERRORS EFAULT; kernel: "
                  "move_addr_to_kernel() (copy_from_user() fails -> -EFAULT)",
              .catalogue = "GE-03, BE-18");
TEST_F(GenericErrorsTest, AddressOutsideAddressSpaceGivesEfault) {
  const GuardedPages pages;
  const auto* bad = pages.guard_as<const sockaddr>();
  const socklen_t length = sizeof(sockaddr_un);

  Fd unbound = open_socket(SOCK_STREAM);
  EXPECT_THAT(call::attempt(fmt::format("bind({}, {}, {})", unbound.get(), kGuard, length),
                            [&] { return ::bind(unbound.get(), bad, length); }),
              FailsWith(EFAULT));
  EXPECT_THAT(call::getsockname(unbound.get()), Returns(0));
  EXPECT_TRUE(must(call::getsockname(unbound.get())).address->is_unnamed())
      << "the failed bind() named the socket";

  const UnixAddress listener_name = UnixAddress::pathname(here().path_name("srv"));
  Fd listener = open_socket(SOCK_STREAM | SOCK_NONBLOCK);
  must(call::bind(listener.get(), listener_name));
  must(call::listen(listener.get(), 4));
  Fd client = open_socket(SOCK_STREAM);
  EXPECT_THAT(call::attempt(fmt::format("connect({}, {}, {})", client.get(), kGuard, length),
                            [&] { return ::connect(client.get(), bad, length); }),
              FailsWith(EFAULT));
  EXPECT_THAT(call::getpeername(client.get()), FailsWith(ENOTCONN));
  EXPECT_THAT(closing_new_fd(call::accept(listener.get())), FailsWith(EAGAIN));

  const UnixAddress receiver_name = UnixAddress::pathname(here().path_name("rcv"));
  Fd receiver = open_socket(SOCK_DGRAM);
  must(call::bind(receiver.get(), receiver_name));
  Fd sender = open_socket(SOCK_DGRAM);
  EXPECT_THAT(
      call::attempt(fmt::format("sendto({}, \"x\", 0, {}, {})", sender.get(), kGuard, length),
                    [&] { return ::sendto(sender.get(), "x", 1, 0, bad, length); }),
      FailsWith(EFAULT));
  EXPECT_THAT(call::recv(receiver.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
}

class GenericErrorsByTypeTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Types, GenericErrorsByTypeTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

// A send copies the data in before anything is queued, so an unreadable buffer sends
// nothing. A receive copies out of the queue: a stream socket copies from the queued bytes
// in place and takes off only what it copied (unix_stream_read_generic()), but a datagram or
// seqpacket socket dequeues the whole message first and frees it when the copy fails
// (__unix_dgram_recvmsg()), so the message is lost.
SOCKSPEC_RULE(GenericErrorsByTypeTest, DataBufferOutsideAddressSpaceGivesEfault,
              .text =
                  "send(), sendmsg(), recv(), recvmsg() and read() with a data buffer the process "
                  "cannot access (read() into NULL included) fail with EFAULT; a failed send "
                  "sends nothing, and a failed receive leaves the bytes queued on a stream socket "
                  "but loses the message on a datagram or seqpacket socket",
              .citation =
                  "send(2) EFAULT; recv(2) EFAULT (\"the receive buffer pointer(s) point outside "
                  "the process's address space\"); read(2) EFAULT; kernel: "
                  "unix_stream_sendmsg(), unix_dgram_sendmsg() (memcpy_from_msg() fails), "
                  "unix_stream_read_generic() (nothing consumed), __unix_dgram_recvmsg() "
                  "(skb_copy_datagram_msg() fails after the skb was dequeued)",
              .catalogue = "GE-03");
TEST_P(GenericErrorsByTypeTest, DataBufferOutsideAddressSpaceGivesEfault) {
  const int type = GetParam();
  const GuardedPages pages;
  void* bad = pages.guard();
  const CallResult pair = must(call::socketpair(AF_UNIX, type | SOCK_NONBLOCK, 0));
  Fd a(pair.fds[0]);
  Fd b(pair.fds[1]);
  iovec bad_iov{bad, 3};
  msghdr bad_msg{};
  bad_msg.msg_iov = &bad_iov;
  bad_msg.msg_iovlen = 1;

  EXPECT_THAT(call::attempt(fmt::format("send({}, {}, 3, 0)", a.get(), kGuard),
                            [&] { return ::send(a.get(), bad, 3, 0); }),
              FailsWith(EFAULT));
  EXPECT_THAT(call::attempt(fmt::format("sendmsg({}, {{iov={}, 3}}, 0)", a.get(), kGuard),
                            [&] { return ::sendmsg(a.get(), &bad_msg, 0); }),
              FailsWith(EFAULT));
  EXPECT_THAT(call::recv(b.get(), 16, 0), FailsWith(EAGAIN)) << "a failed send sent something";

  void* null = nullptr;
  const std::vector<SocketCall> bad_receives = {
      {"recv",
       [&](int fd) {
         return call::attempt(fmt::format("recv({}, {}, 3, 0)", fd, kGuard),
                              [&] { return ::recv(fd, bad, 3, 0); });
       }},
      {"recvmsg",
       [&](int fd) {
         return call::attempt(fmt::format("recvmsg({}, {{iov={}, 3}}, 0)", fd, kGuard),
                              [&] { return ::recvmsg(fd, &bad_msg, 0); });
       }},
      {"read",
       [&](int fd) {
         return call::attempt(fmt::format("read({}, NULL, 3)", fd),
                              [&] { return ::read(fd, null, 3); });
       }},
  };
  for (const SocketCall& receive : bad_receives) {
    SCOPED_TRACE(receive.name);
    ASSERT_THAT(call::send(b.get(), "abc", 0), Returns(3));
    EXPECT_THAT(receive.call(a.get()), FailsWith(EFAULT));
    if (type == SOCK_STREAM) {
      EXPECT_THAT(call::recv(a.get(), 16, 0), Receives("abc"))
          << "the bytes should still be queued";
    } else {
      EXPECT_THAT(call::recv(a.get(), 16, 0), FailsWith(EAGAIN))
          << "the message should have been consumed by the failed receive";
    }
  }
}

// The msghdr itself is copied in (copy_msghdr_from_user()) before any data moves.
SOCKSPEC_RULE(GenericErrorsTest, MsghdrOutsideAddressSpaceGivesEfault,
              .text =
                  "sendmsg() and recvmsg() whose struct msghdr the process cannot read fail with "
                  "EFAULT before any data moves: nothing is sent, and a queued datagram stays "
                  "queued",
              .citation =
                  "send(2) EFAULT (\"an invalid user space address was specified for an "
                  "argument\"); recv(2) EFAULT; kernel: sendmsg_copy_msghdr(), "
                  "recvmsg_copy_msghdr() -> copy_msghdr_from_user()",
              .catalogue = "GE-03");
TEST_F(GenericErrorsTest, MsghdrOutsideAddressSpaceGivesEfault) {
  const GuardedPages pages;
  auto* bad = pages.guard_as<msghdr>();
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0));
  Fd a(pair.fds[0]);
  Fd b(pair.fds[1]);
  EXPECT_THAT(call::attempt(fmt::format("sendmsg({}, {}, 0)", a.get(), kGuard),
                            [&] { return ::sendmsg(a.get(), bad, 0); }),
              FailsWith(EFAULT));
  EXPECT_THAT(call::recv(b.get(), 16, 0), FailsWith(EAGAIN)) << "the failed sendmsg sent something";

  ASSERT_THAT(call::send(b.get(), "abc", 0), Returns(3));
  EXPECT_THAT(call::attempt(fmt::format("recvmsg({}, {}, 0)", a.get(), kGuard),
                            [&] { return ::recvmsg(a.get(), bad, 0); }),
              FailsWith(EFAULT));
  EXPECT_THAT(call::recv(a.get(), 16, 0), Receives("abc"));
}

SOCKSPEC_RULE(GenericErrorsTest, OptionPointersOutsideAddressSpaceGiveEfault,
              .text =
                  "setsockopt() with optval NULL or unreadable, and getsockopt() with optval "
                  "unwritable or optlen NULL or inaccessible, fail with EFAULT; the failed "
                  "setsockopt() leaves the option as it was",
              .citation =
                  "getsockopt(2) ERRORS EFAULT (optval, and for getsockopt() optlen, \"not in a "
                  "valid part of the process address space\"); kernel: do_sock_setsockopt() -> "
                  "sk_setsockopt() (copy_from_sockptr()), do_sock_getsockopt() (get_user() of "
                  "optlen), sk_getsockopt() (copy_to_sockptr())",
              .catalogue = "GE-03");
TEST_F(GenericErrorsTest, OptionPointersOutsideAddressSpaceGiveEfault) {
  const GuardedPages pages;
  Fd fd = open_socket(SOCK_STREAM);
  const int s = fd.get();
  const socklen_t int_size = sizeof(int);
  const void* null = nullptr;

  EXPECT_THAT(
      call::attempt(
          fmt::format("setsockopt({}, SOL_SOCKET, SO_PASSCRED, {}, 4)", s, kGuard),
          [&] { return ::setsockopt(s, SOL_SOCKET, SO_PASSCRED, pages.guard(), int_size); }),
      FailsWith(EFAULT));
  EXPECT_THAT(
      call::attempt(fmt::format("setsockopt({}, SOL_SOCKET, SO_PASSCRED, NULL, 4)", s),
                    [&] { return ::setsockopt(s, SOL_SOCKET, SO_PASSCRED, null, int_size); }),
      FailsWith(EFAULT));
  EXPECT_THAT(call::getsockopt(s, SOL_SOCKET, SO_PASSCRED), Returns(0))
      << "a failed setsockopt() changed SO_PASSCRED";

  int value = 0;
  socklen_t length = sizeof(value);
  EXPECT_THAT(
      call::attempt(fmt::format("getsockopt({}, SOL_SOCKET, SO_TYPE, {}, &4)", s, kGuard),
                    [&] { return ::getsockopt(s, SOL_SOCKET, SO_TYPE, pages.guard(), &length); }),
      FailsWith(EFAULT));
  EXPECT_THAT(
      call::attempt(fmt::format("getsockopt({}, SOL_SOCKET, SO_TYPE, &value, {})", s, kGuard),
                    [&] {
                      return ::getsockopt(s, SOL_SOCKET, SO_TYPE, &value,
                                          pages.guard_as<socklen_t>());
                    }),
      FailsWith(EFAULT));
  socklen_t* null_length = nullptr;
  EXPECT_THAT(
      call::attempt(fmt::format("getsockopt({}, SOL_SOCKET, SO_TYPE, &value, NULL)", s),
                    [&] { return ::getsockopt(s, SOL_SOCKET, SO_TYPE, &value, null_length); }),
      FailsWith(EFAULT));
}

// accept() and recvfrom() write the peer's address back after they have taken the
// connection or the datagram off the queue; when that write faults, the kernel drops what it
// took (do_accept() releases the new socket; __sys_recvfrom() has already consumed the
// message), so the error cannot be retried.
SOCKSPEC_RULE(GenericErrorsTest, ReturnedAddressOutsideAddressSpaceGivesEfault,
              .text =
                  "accept() with an unwritable addr, or with addr given and addrlen NULL or "
                  "inaccessible, and recvfrom() with an unwritable src_addr fail with EFAULT, and "
                  "the connection or datagram they took off the queue is lost",
              .citation =
                  "accept(2) ERRORS EFAULT; recv(2) EFAULT; kernel: do_accept() -> "
                  "move_addr_to_user() fails after ops->accept(), the new file is released; "
                  "__sys_recvfrom() -> move_addr_to_user() after sock_recvmsg()",
              .catalogue = "GE-03");
TEST_F(GenericErrorsTest, ReturnedAddressOutsideAddressSpaceGivesEfault) {
  const GuardedPages pages;
  auto* bad_addr = pages.guard_as<sockaddr>();
  auto* bad_length = pages.guard_as<socklen_t>();
  socklen_t* null_length = nullptr;
  sockaddr_storage storage{};
  auto* addr = reinterpret_cast<sockaddr*>(&storage);
  socklen_t length = sizeof(storage);

  const UnixAddress listener_name = UnixAddress::pathname(here().path_name("srv"));
  Fd listener = open_socket(SOCK_STREAM | SOCK_NONBLOCK);
  must(call::bind(listener.get(), listener_name));
  must(call::listen(listener.get(), 4));
  const int l = listener.get();
  struct BadAccept {
    std::string text;
    std::function<int()> accept;
  };
  const std::vector<BadAccept> bad_accepts = {
      {fmt::format("accept({}, {}, &{})", l, kGuard, length),
       [&] { return ::accept(l, bad_addr, &length); }},
      {fmt::format("accept({}, &addr, NULL)", l), [&] { return ::accept(l, addr, null_length); }},
      {fmt::format("accept({}, &addr, {})", l, kGuard),
       [&] { return ::accept(l, addr, bad_length); }},
  };
  for (const BadAccept& bad_accept : bad_accepts) {
    SCOPED_TRACE(bad_accept.text);
    Fd client = open_socket(SOCK_STREAM | SOCK_NONBLOCK);
    ASSERT_THAT(call::connect(client.get(), listener_name), Succeeds());
    const int lowest_free = lowest_free_fd();
    length = sizeof(storage);
    EXPECT_THAT(closing_new_fd(call::attempt(bad_accept.text, bad_accept.accept)),
                FailsWith(EFAULT));
    EXPECT_EQ(lowest_free_fd(), lowest_free) << "the failed accept() left a descriptor open";
    EXPECT_THAT(closing_new_fd(call::accept(listener.get())), FailsWith(EAGAIN))
        << "the connection should have been taken off the queue";
    EXPECT_THAT(call::recv(client.get(), 16, 0), ReturnsEof())
        << "the connecting end should see its peer gone";
  }

  // The sender has a name, so there is an address to write back.
  const UnixAddress receiver_name = UnixAddress::pathname(here().path_name("rcv"));
  Fd receiver = open_socket(SOCK_DGRAM | SOCK_NONBLOCK);
  must(call::bind(receiver.get(), receiver_name));
  Fd sender = open_socket(SOCK_DGRAM);
  must(call::bind(sender.get(), UnixAddress::pathname(here().path_name("snd"))));
  ASSERT_THAT(call::sendto(sender.get(), "abc", 0, receiver_name), Returns(3));
  char buffer[16];
  length = sizeof(storage);
  EXPECT_THAT(
      call::attempt(
          fmt::format("recvfrom({}, 16, 0, {}, &{})", receiver.get(), kGuard, length),
          [&] { return ::recvfrom(receiver.get(), buffer, sizeof(buffer), 0, bad_addr, &length); }),
      FailsWith(EFAULT));
  EXPECT_THAT(call::recv(receiver.get(), 16, 0), FailsWith(EAGAIN))
      << "the datagram should have been consumed by the failed recvfrom()";
}

// ---------------------------------------------------------------------------------------
// getsockname() and getpeername(): *addrlen.

// move_addr_to_user() reads *addrlen first (EFAULT if it cannot), refuses a negative one
// (EINVAL), and copies min(*addrlen, real length) bytes to addr (EFAULT if it cannot).
// getpeername() asks for the peer first, so these cases need a connected socket.
SOCKSPEC_RULE(GenericErrorsTest, NameQueryAddrlenErrors,
              .text =
                  "getsockname() and getpeername() with a negative *addrlen fail with EINVAL; "
                  "with addrlen NULL or inaccessible, or addr unwritable, they fail with EFAULT",
              .citation =
                  "getsockname(2), getpeername(2) ERRORS EINVAL (\"addrlen is invalid (e.g., is "
                  "negative)\") and EFAULT; kernel: move_addr_to_user() (get_user() of *addrlen, "
                  "then copy_to_user() of the address)",
              .linux_note =
                  "the man pages give EFAULT only for addr; Linux gives it for an unreadable "
                  "addrlen too",
              .catalogue = "GE-04, GE-03");
TEST_F(GenericErrorsTest, NameQueryAddrlenErrors) {
  const GuardedPages pages;
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd a(pair.fds[0]);
  Fd b(pair.fds[1]);
  must(call::bind(a.get(), UnixAddress::pathname(here().path_name("a"))));
  must(call::bind(b.get(), UnixAddress::pathname(here().path_name("b"))));
  using NameQuery = int (*)(int, sockaddr*, socklen_t*);
  const std::vector<std::pair<const char*, NameQuery>> queries = {{"getsockname", ::getsockname},
                                                                  {"getpeername", ::getpeername}};
  for (const auto& [name, query] : queries) {
    SCOPED_TRACE(name);
    const int s = a.get();
    sockaddr_storage storage{};
    auto* addr = reinterpret_cast<sockaddr*>(&storage);
    socklen_t negative = static_cast<socklen_t>(-1);
    EXPECT_THAT(call::attempt(fmt::format("{}({}, &addr, &-1)", name, s),
                              [&] { return query(s, addr, &negative); }),
                FailsWith(EINVAL));
    socklen_t* null_length = nullptr;
    EXPECT_THAT(call::attempt(fmt::format("{}({}, &addr, NULL)", name, s),
                              [&] { return query(s, addr, null_length); }),
                FailsWith(EFAULT));
    EXPECT_THAT(call::attempt(fmt::format("{}({}, &addr, {})", name, s, kGuard),
                              [&] { return query(s, addr, pages.guard_as<socklen_t>()); }),
                FailsWith(EFAULT));
    socklen_t length = sizeof(storage);
    EXPECT_THAT(call::attempt(fmt::format("{}({}, {}, &{})", name, s, kGuard, length),
                              [&] { return query(s, pages.guard_as<sockaddr>(), &length); }),
                FailsWith(EFAULT));
  }
}

// ---------------------------------------------------------------------------------------
// socketpair(): sv.

SOCKSPEC_RULE(GenericErrorsTest, SocketpairSvOutsideAddressSpaceGivesEfault,
              .text =
                  "socketpair() with sv NULL or pointing to memory the process cannot write fails "
                  "with EFAULT and leaves no descriptor open",
              .citation =
                  "socketpair(2) ERRORS EFAULT (\"the address sv does not specify a valid part of "
                  "the process address space\"); kernel: __sys_socketpair() (put_user() of the "
                  "reserved descriptors fails; put_unused_fd())",
              .catalogue = "CR-11");
TEST_F(GenericErrorsTest, SocketpairSvOutsideAddressSpaceGivesEfault) {
  const GuardedPages pages;
  const int lowest_free = lowest_free_fd();
  int* null_sv = nullptr;
  EXPECT_THAT(call::attempt("socketpair(AF_UNIX, SOCK_STREAM, 0, NULL)",
                            [&] { return ::socketpair(AF_UNIX, SOCK_STREAM, 0, null_sv); }),
              FailsWith(EFAULT));
  EXPECT_EQ(lowest_free_fd(), lowest_free) << "socketpair(NULL) left a descriptor open";
  EXPECT_THAT(
      call::attempt(fmt::format("socketpair(AF_UNIX, SOCK_STREAM, 0, {})", kGuard),
                    [&] { return ::socketpair(AF_UNIX, SOCK_STREAM, 0, pages.guard_as<int>()); }),
      FailsWith(EFAULT));
  EXPECT_EQ(lowest_free_fd(), lowest_free) << "socketpair(<PROT_NONE page>) left a descriptor open";
}

// socketpair(2) RETURN VALUE promises that "sv is left unchanged" on error. Linux keeps the
// promise only for errors found before it reserves the two descriptors (bad flags in type).
// __sys_socketpair() then stores both reserved numbers in sv with put_user() and only after
// that creates the sockets; when that fails, or when sv[1] cannot be written, it gives the
// numbers back but sv keeps them. A caller must not read sv after a failure.
SOCKSPEC_RULE(GenericErrorsTest, SocketpairFailureAndSv,
              .text =
                  "a socketpair() that fails on invalid flags in type (EINVAL) leaves sv "
                  "unchanged, but one that fails later (an unsupported type or protocol, or sv[1] "
                  "unwritable) has already stored in sv two descriptor numbers, neither of which "
                  "is open",
              .citation =
                  "socketpair(2) RETURN VALUE (\"sv is left unchanged\") and ERRORS; kernel: "
                  "__sys_socketpair() (flags checked, then get_unused_fd_flags() twice and "
                  "put_user() of both, then sock_create()), unix_create()",
              .linux_note =
                  "the kernel disagrees with socketpair(2): on 6.18 sv is left unchanged only for "
                  "errors found before the descriptors are reserved",
              .catalogue = "CR-11");
TEST_F(GenericErrorsTest, SocketpairFailureAndSv) {
  constexpr int kSentinel = -7;
  const int lowest_free = lowest_free_fd();
  const int bad_flag = 1 << 20;  // neither SOCK_NONBLOCK nor SOCK_CLOEXEC, outside the type
  int sv[2] = {kSentinel, kSentinel};
  // A socketpair() that should have failed but made two sockets: closed, so that they do not
  // show up as descriptors left open by the failures after it.
  auto close_if_made = [&](const CallResult& result) {
    if (!result.failed()) {
      ::close(sv[0]);
      ::close(sv[1]);
    }
    return result;
  };
  EXPECT_THAT(close_if_made(call::attempt(
                  "socketpair(AF_UNIX, SOCK_STREAM|1<<20, 0, sv)",
                  [&] { return ::socketpair(AF_UNIX, SOCK_STREAM | bad_flag, 0, sv); })),
              FailsWith(EINVAL));
  EXPECT_EQ(sv[0], kSentinel);
  EXPECT_EQ(sv[1], kSentinel);

  struct LateFailure {
    std::string text;
    int type;
    int protocol;
    int err;
  };
  const std::vector<LateFailure> late_failures = {
      {"socketpair(AF_UNIX, 9, 0, sv)", 9, 0, ESOCKTNOSUPPORT},
      {"socketpair(AF_UNIX, SOCK_STREAM, 7, sv)", SOCK_STREAM, 7, EPROTONOSUPPORT},
  };
  for (const LateFailure& failure : late_failures) {
    SCOPED_TRACE(failure.text);
    sv[0] = sv[1] = kSentinel;
    EXPECT_THAT(close_if_made(call::attempt(
                    failure.text,
                    [&] { return ::socketpair(AF_UNIX, failure.type, failure.protocol, sv); })),
                FailsWith(failure.err));
    EXPECT_NE(sv[0], kSentinel) << "sv[0] was left unchanged";
    EXPECT_NE(sv[1], kSentinel) << "sv[1] was left unchanged";
    for (int fd : sv) {
      if (fd != kSentinel) {
        EXPECT_THAT(call::fcntl(fd, F_GETFD), FailsWith(EBADF)) << "sv holds an open descriptor";
      }
    }
    EXPECT_EQ(lowest_free_fd(), lowest_free) << "the failed socketpair() left a descriptor open";
  }

  // sv[0] is the last int of a writable page, sv[1] the first of the PROT_NONE page.
  const GuardedPages pages;
  auto* straddling = static_cast<int*>(pages.just_before_guard(sizeof(int)));
  *straddling = kSentinel;
  EXPECT_THAT(
      call::attempt(fmt::format("socketpair(AF_UNIX, SOCK_STREAM, 0, sv) with sv[1] in {}", kGuard),
                    [&] { return ::socketpair(AF_UNIX, SOCK_STREAM, 0, straddling); }),
      FailsWith(EFAULT));
  EXPECT_NE(*straddling, kSentinel) << "sv[0] was left unchanged";
  if (*straddling != kSentinel) {
    EXPECT_THAT(call::fcntl(*straddling, F_GETFD), FailsWith(EBADF))
        << "sv[0] is an open descriptor";
  }
  EXPECT_EQ(lowest_free_fd(), lowest_free) << "the failed socketpair() left a descriptor open";
}

// ---------------------------------------------------------------------------------------
// accept(): *addrlen.

class AcceptAddrlenTest : public CaseTest {
 protected:
  void SetUp() override {
    CaseTest::SetUp();
    listener_name_ = UnixAddress::pathname(here().path_name("srv"));
    listener_ = open_socket(SOCK_STREAM | SOCK_NONBLOCK);
    must(call::bind(listener_.get(), listener_name_));
    must(call::listen(listener_.get(), 4));
  }

  // A client, bound to `name` when one is given, connected and waiting in the listener's
  // queue.
  Fd connect_client(const std::optional<UnixAddress>& name = std::nullopt) {
    Fd client = open_socket(SOCK_STREAM | SOCK_NONBLOCK);
    if (name) must(call::bind(client.get(), *name));
    must(call::connect(client.get(), listener_name_));
    return client;
  }

  UnixAddress listener_name_;
  Fd listener_;
};

// do_accept() takes the connection off the queue (ops->accept()) before move_addr_to_user()
// looks at *addrlen; on EINVAL it releases the new socket, so the connection is lost and the
// connecting end sees its peer close.
SOCKSPEC_RULE(AcceptAddrlenTest, NegativeGivesEinval,
              .text =
                  "accept() and accept4() with *addrlen < 0 fail with EINVAL, after taking the "
                  "connection off the queue: the connection is lost and the connecting end reads "
                  "end of file",
              .citation =
                  "accept(2) ERRORS EINVAL (\"addrlen is invalid (e.g., is negative)\"); kernel: "
                  "do_accept() -> move_addr_to_user() after ops->accept(), then fput() of the new "
                  "file",
              .linux_note = "accept(2) does not say that the connection is consumed",
              .catalogue = "LA-10");
TEST_F(AcceptAddrlenTest, NegativeGivesEinval) {
  const int l = listener_.get();
  sockaddr_storage storage{};
  auto* addr = reinterpret_cast<sockaddr*>(&storage);
  socklen_t length = 0;
  struct Accept {
    std::string text;
    std::function<int()> accept;
  };
  const std::vector<Accept> accepts = {
      {fmt::format("accept({}, &addr, &-1)", l), [&] { return ::accept(l, addr, &length); }},
      {fmt::format("accept4({}, &addr, &-1, SOCK_CLOEXEC)", l),
       [&] { return ::accept4(l, addr, &length, SOCK_CLOEXEC); }},
  };
  for (const Accept& accept : accepts) {
    SCOPED_TRACE(accept.text);
    Fd client = connect_client();
    const int lowest_free = lowest_free_fd();
    length = static_cast<socklen_t>(-1);
    EXPECT_THAT(closing_new_fd(call::attempt(accept.text, accept.accept)), FailsWith(EINVAL));
    EXPECT_EQ(lowest_free_fd(), lowest_free) << "the failed accept() left a descriptor open";
    EXPECT_THAT(closing_new_fd(call::accept(l)), FailsWith(EAGAIN))
        << "the connection should be off the queue";
    EXPECT_THAT(call::recv(client.get(), 16, 0), ReturnsEof());
  }
}

// The kernel copies min(*addrlen, real length) bytes and writes the real length back
// (move_addr_to_user()), so any buffer at least as long as the address will do.
SOCKSPEC_RULE(AcceptAddrlenTest, LargeIsShrunkToTheAddressLength,
              .text =
                  "accept() and accept4() with *addrlen larger than any address (200, 2000) "
                  "succeed, write the connecting socket's address and set *addrlen to its real "
                  "length",
              .citation =
                  "accept(2) DESCRIPTION (\"on return it will contain the actual size of the peer "
                  "address\"); kernel: move_addr_to_user()",
              .catalogue = "LA-10");
TEST_F(AcceptAddrlenTest, LargeIsShrunkToTheAddressLength) {
  const int l = listener_.get();
  for (const socklen_t large : {socklen_t{200}, socklen_t{2000}}) {
    for (const bool use_accept4 : {false, true}) {
      const std::string text = use_accept4
                                   ? fmt::format("accept4({}, &addr, &{}, SOCK_CLOEXEC)", l, large)
                                   : fmt::format("accept({}, &addr, &{})", l, large);
      SCOPED_TRACE(text);
      // An abstract name: its bytes come back exactly as bound on every target.
      const UnixAddress client_name = UnixAddress::abstract(here().abstract_name("cli"));
      Fd client = connect_client(client_name);
      // A buffer really `large` bytes long, so that no byte the caller offers is missing.
      std::vector<char> buffer(large, '\x55');
      auto* addr = reinterpret_cast<sockaddr*>(buffer.data());
      socklen_t length = large;
      const CallResult accepted = call::attempt(text, [&] {
        return use_accept4 ? ::accept4(l, addr, &length, SOCK_CLOEXEC) : ::accept(l, addr, &length);
      });
      Fd server_end(accepted.failed() ? -1 : static_cast<int>(accepted.value));
      ASSERT_THAT(accepted, Succeeds());
      EXPECT_EQ(length, client_name.length()) << "the real length of " << client_name.describe();
      const socklen_t written = std::min<socklen_t>(length, sizeof(sockaddr_storage));
      sockaddr_storage storage{};
      std::memcpy(&storage, buffer.data(), written);
      EXPECT_EQ(UnixAddress::from_kernel(storage, written).describe(), client_name.describe());
      if (length < large) {
        EXPECT_EQ(buffer[length], '\x55') << "a byte beyond the address was written";
      }
    }
  }
}

}  // namespace
}  // namespace sockspec
