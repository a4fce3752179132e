// Who is at the other end: SO_PEERCRED, SO_PEERPIDFD, SO_PEERGROUPS and SO_PEERSEC read what
// the kernel recorded about the peer when the connection was made (connect(), socketpair(),
// or listen() for the listener itself), never what the peer is doing now. A socket that was
// never connected has nothing recorded. The pid is shown as the reader's PID namespace sees
// it: 0 for a process it cannot see.
#include <grp.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "case/address.h"
#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/linux_socket_options.h"
#include "case/process_identity.h"
#include "case/rule.h"
#include "os/case_error.h"
#include "os/fd.h"
#include "os/names.h"

namespace sockspec {
namespace {

constexpr unsigned kNobodyId = 65534;

std::string show(const ucred& c) {
  return fmt::format("{{pid={} uid={} gid={}}}", c.pid, static_cast<int>(c.uid),
                     static_cast<int>(c.gid));
}

// getsockopt(SO_PEERCRED) as a ucred; `err` is errno when it failed, 0 otherwise.
struct PeerCred {
  ucred cred{};
  int err = 0;
  // "{pid=12 uid=0 gid=0}", or "-1 ENOMEM" for a failed getsockopt.
  std::string describe() const { return err ? "-1 " + errno_name(err) : show(cred); }
};
PeerCred peer_cred(int fd) {
  PeerCred result;
  socklen_t length = sizeof result.cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &result.cred, &length) != 0) result.err = errno;
  return result;
}

class PeerIdentityTest : public CaseTest {
 protected:
  // A listening stream socket at a fresh pathname, and its address.
  Fd listen_at(UnixAddress& address) {
    address = UnixAddress::pathname(here().path_name("srv"));
    Fd listener = open_socket(SOCK_STREAM);
    must(call::bind(listener.get(), address));
    must(call::listen(listener.get(), 4));
    return listener;
  }
};

SOCKSPEC_RULE(PeerIdentityTest, PeerCredOnlyWhereAPeerWasRecorded,
              .text =
                  "SO_PEERCRED gives the peer's pid, uid and gid on a socketpair and a "
                  "connected stream socket; a listener gives its own (recorded by listen()); "
                  "an unconnected stream socket and a datagram socket connect()ed to a "
                  "name have none recorded: pid 0, uid and gid -1",
              .citation =
                  "unix(7) SO_PEERCRED (\"the credentials of the peer process connected to "
                  "this socket\"; \"socketpair\"); kernel: init_peercred() in unix_listen(), "
                  "unix_stream_connect() and unix_socketpair() only; cred_to_ucred() "
                  "(uid = gid = -1 without credentials)",
              .linux_note =
                  "Linux does not fail the call on an unconnected socket (FreeBSD's "
                  "LOCAL_PEERCRED gives ENOTCONN)",
              .catalogue = "PC-06");
TEST_F(PeerIdentityTest, PeerCredOnlyWhereAPeerWasRecorded) {
  const std::string self = show({::getpid(), ::geteuid(), ::getegid()});
  const std::string nobody = show({0, static_cast<uid_t>(-1), static_cast<gid_t>(-1)});

  const CallResult dgram_pair = must(call::socketpair(AF_UNIX, SOCK_DGRAM, 0));
  Fd pair_a(dgram_pair.fds[0]), pair_b(dgram_pair.fds[1]);
  PeerCred c = peer_cred(pair_a.get());
  EXPECT_EQ(c.err, 0) << errno_name(c.err);
  EXPECT_EQ(show(c.cred), self) << "SO_PEERCRED of a datagram socketpair";

  UnixAddress address;
  Fd listener = listen_at(address);
  c = peer_cred(listener.get());
  EXPECT_EQ(c.err, 0) << errno_name(c.err);
  EXPECT_EQ(show(c.cred), self) << "SO_PEERCRED of a listener";

  Fd unconnected = open_socket(SOCK_STREAM);
  c = peer_cred(unconnected.get());
  EXPECT_EQ(c.err, 0) << errno_name(c.err);
  EXPECT_EQ(show(c.cred), nobody) << "SO_PEERCRED of a stream socket never connected";

  const UnixAddress dgram_name = UnixAddress::pathname(here().path_name("dgram"));
  Fd named = open_socket(SOCK_DGRAM);
  must(call::bind(named.get(), dgram_name));
  Fd client = open_socket(SOCK_DGRAM);
  must(call::connect(client.get(), dgram_name));
  c = peer_cred(client.get());
  EXPECT_EQ(c.err, 0) << errno_name(c.err);
  EXPECT_EQ(show(c.cred), nobody) << "SO_PEERCRED of a datagram socket connect()ed to a name";
}

SOCKSPEC_RULE(PeerIdentityTest, PeerCredPidSeenFromTheReadersNamespace,
              .text =
                  "SO_PEERCRED's pid is translated into the reader's PID namespace: a reader "
                  "outside sees a process inside by its outer pid (not 1), a reader inside "
                  "sees a peer it cannot see as pid 0",
              .citation =
                  "unix(7) SO_PEERCRED; pid_namespaces(7) (\"a process ... has one pid in "
                  "each of the layers\"); kernel: cred_to_ucred() -> pid_vnr()",
              .catalogue = "PC-05");
TEST_F(PeerIdentityTest, PeerCredPidSeenFromTheReadersNamespace) {
  SOCKSPEC_REQUIRES("root");
  UnixAddress address;
  Fd listener = listen_at(address);
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd mine(pair.fds[0]), theirs(pair.fds[1]);

  // The peer makes a PID namespace; its first child is that namespace's pid 1. The child
  // cannot report through the harness, so it writes what it saw into a pipe.
  Peer& outer = here().fork_peer("namespace-maker", [&](PeerSelf& self) {
    listener.reset();
    mine.reset();
    if (::unshare(CLONE_NEWPID) != 0) {
      self.report("inner", "unshare(CLONE_NEWPID): " + errno_name(errno));
      return;
    }
    int results[2];
    if (::pipe(results) != 0) throw CaseError("pipe: " + errno_name(errno));
    const pid_t inner = ::fork();
    if (inner == 0) {
      ::close(results[0]);
      const int connected = ::socket(AF_UNIX, SOCK_STREAM, 0);
      const bool ok = ::connect(connected, address.get(), address.length()) == 0;
      const std::string how = ok ? "connected" : errno_name(errno);
      const std::string seen =
          fmt::format("{} {} {} {}", ::getpid(), peer_cred(theirs.get()).cred.pid,
                      ok ? peer_cred(connected).cred.pid : -1, how);
      [[maybe_unused]] auto written = ::write(results[1], seen.data(), seen.size());
      ::close(results[1]);
      char byte;
      [[maybe_unused]] auto eof = ::read(connected, &byte, 1);  // until the controller is done
      ::_exit(0);
    }
    ::close(results[1]);
    char seen[128] = {};
    [[maybe_unused]] auto n = ::read(results[0], seen, sizeof seen - 1);
    self.report("inner", fmt::format("{} {}", inner, seen));
    ::waitpid(inner, nullptr, 0);
  });
  std::istringstream inner(outer.value("inner"));
  long outer_pid = 0, own_pid = 0, pair_peer = 0, listener_peer = 0;
  std::string connect_result;
  ASSERT_TRUE(inner >> outer_pid >> own_pid >> pair_peer >> listener_peer >> connect_result)
      << inner.str();
  // An accept() after a failed connect would wait for ever.
  ASSERT_EQ(connect_result, "connected") << "the inner process's connect()";
  Fd accepted(static_cast<int>(must(call::accept(listener.get())).value));
  const PeerCred from_outside = peer_cred(accepted.get());
  accepted.reset();
  outer.expect_clean_exit();

  EXPECT_EQ(own_pid, 1) << "getpid() of the first process in the new PID namespace";
  EXPECT_EQ(from_outside.cred.pid, outer_pid)
      << "SO_PEERCRED read outside, of a peer inside the namespace: " << from_outside.describe();
  EXPECT_EQ(pair_peer, 0) << "SO_PEERCRED read inside, of a socketpair made outside";
  EXPECT_EQ(listener_peer, 0) << "SO_PEERCRED read inside, of a listener outside";
}

SOCKSPEC_RULE(PeerIdentityTest, PeerPidfdIsThePeerCredProcess,
              .text =
                  "SO_PEERPIDFD returns a new pidfd for the process SO_PEERCRED names (the "
                  "creator on a socketpair, the connecting process on an accepted socket); "
                  "with no peer recorded it fails with ENODATA",
              .citation =
                  "unix(7) SO_PEERPIDFD; pidfd_open(2); kernel: sk_getsockopt() "
                  "SO_PEERPIDFD (-ENODATA without sk_peer_pid) -> pidfd_prepare()",
              .linux_note = "Linux 6.5", .catalogue = "PC-07");
TEST_F(PeerIdentityTest, PeerPidfdIsThePeerCredProcess) {
  SOCKSPEC_REQUIRES("so-passpidfd");
  const auto peer_pidfd = [](int fd) {
    int pidfd = -1;
    socklen_t length = sizeof pidfd;
    return call::attempt(fmt::format("getsockopt({}, SOL_SOCKET, SO_PEERPIDFD)", fd), [&] {
      return ::getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &length) == 0 ? pidfd : -1;
    });
  };
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd a(pair.fds[0]), b(pair.fds[1]);
  Fd own(static_cast<int>(must(peer_pidfd(a.get())).value));
  EXPECT_EQ(pid_of_pidfd(own.get()), ::getpid()) << "SO_PEERPIDFD of a socketpair";

  UnixAddress address;
  Fd listener = listen_at(address);
  Peer& client = here().fork_peer("client", [&](PeerSelf& self) {
    listener.reset();
    Fd fd = open_socket(SOCK_STREAM);
    ASSERT_THAT(call::connect(fd.get(), address), Succeeds());
    self.notify("connected");
    self.await("checked");
  });
  client.await("connected");  // an accept() before it would wait for ever for a failed connect
  Fd accepted(static_cast<int>(must(call::accept(listener.get())).value));
  Fd theirs(static_cast<int>(must(peer_pidfd(accepted.get())).value));
  EXPECT_EQ(pid_of_pidfd(theirs.get()), client.pid()) << "SO_PEERPIDFD of an accepted socket";
  const PeerCred cred = peer_cred(accepted.get());
  EXPECT_EQ(cred.cred.pid, client.pid()) << "SO_PEERCRED of the same: " << cred.describe();
  client.tell("checked");
  client.expect_clean_exit();

  Fd unconnected = open_socket(SOCK_STREAM);
  EXPECT_THAT(peer_pidfd(unconnected.get()), FailsWith(ENODATA));
}

// getsockopt(SO_PEERGROUPS) into a buffer of `room` gids.
struct PeerGroups {
  CallResult result;
  std::vector<gid_t> groups;
  socklen_t length = 0;
};
PeerGroups peer_groups(int fd, std::size_t room) {
  PeerGroups out;
  std::vector<gid_t> buffer(room + 1);
  out.length = static_cast<socklen_t>(room * sizeof(gid_t));
  out.result = call::attempt(
      fmt::format("getsockopt({}, SOL_SOCKET, SO_PEERGROUPS, <{} gids>)", fd, room),
      [&] { return ::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, buffer.data(), &out.length); });
  if (!out.result.failed())
    out.groups.assign(buffer.begin(), buffer.begin() + out.length / sizeof(gid_t));
  return out;
}

SOCKSPEC_RULE(PeerIdentityTest, PeerGroupsAreThePeersSupplementaryGroups,
              .text =
                  "SO_PEERGROUPS gives the supplementary groups the peer had when it "
                  "connected; a buffer too small fails with ERANGE and sets optlen to the "
                  "size needed; a socket with no peer recorded fails with ENODATA",
              .citation =
                  "socket(7)/unix(7) SO_PEERGROUPS; kernel: sk_getsockopt() SO_PEERGROUPS "
                  "(groups_to_user(); -ERANGE with the needed length; -ENODATA without "
                  "sk_peer_cred)",
              .linux_note = "Linux 4.13", .catalogue = "PC-09");
TEST_F(PeerIdentityTest, PeerGroupsAreThePeersSupplementaryGroups) {
  SOCKSPEC_REQUIRES("root");
  const std::vector<gid_t> groups = {4201, 4202, 4203};  // sorted, as the kernel keeps them
  UnixAddress address;
  Fd listener = listen_at(address);
  Peer& client = here().fork_peer("client", [&](PeerSelf& self) {
    listener.reset();
    if (::setgroups(groups.size(), groups.data()) != 0)
      throw CaseError("setgroups: " + errno_name(errno));
    Fd fd = open_socket(SOCK_STREAM);
    ASSERT_THAT(call::connect(fd.get(), address), Succeeds());
    // The groups were copied at connect(): changing them now changes nothing for the reader.
    EXPECT_EQ(::setgroups(0, nullptr), 0);
    self.notify("changed");
    self.await("checked");
  });
  client.await("changed");  // connected: an accept() before would wait for a failed connect
  Fd accepted(static_cast<int>(must(call::accept(listener.get())).value));
  const PeerGroups all = peer_groups(accepted.get(), 16);
  EXPECT_THAT(all.result, Succeeds());
  EXPECT_EQ(fmt::format("{}", all.groups), fmt::format("{}", groups));
  const PeerGroups short_buffer = peer_groups(accepted.get(), 1);
  EXPECT_THAT(short_buffer.result, FailsWith(ERANGE));
  EXPECT_EQ(short_buffer.length, groups.size() * sizeof(gid_t)) << "optlen after ERANGE";
  client.tell("checked");
  client.expect_clean_exit();

  Fd unconnected = open_socket(SOCK_STREAM);
  EXPECT_THAT(peer_groups(unconnected.get(), 16).result, FailsWith(ENODATA));
}

SOCKSPEC_RULE(PeerIdentityTest, PeerSecIsThePeersContext,
              .text =
                  "SO_PEERSEC gives the security context of the peer (a socketpair: its "
                  "creator); a buffer too small fails with ERANGE and sets optlen to the "
                  "length needed",
              .citation =
                  "unix(7) SO_PEERSEC; kernel: sk_getsockopt() SO_PEERSEC -> "
                  "security_socket_getpeersec_stream() (-ERANGE with the needed length)",
              .catalogue = "PC-08");
TEST_F(PeerIdentityTest, PeerSecIsThePeersContext) {
  SOCKSPEC_REQUIRES("security-contexts");
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd a(pair.fds[0]), b(pair.fds[1]);
  char context[512] = {};
  socklen_t length = sizeof context;
  ASSERT_EQ(::getsockopt(a.get(), SOL_SOCKET, SO_PEERSEC, context, &length), 0)
      << errno_name(errno);
  std::string seen(context, length);
  while (!seen.empty() && seen.back() == '\0') seen.pop_back();
  EXPECT_EQ(seen, own_security_context());
  const socklen_t needed = length;
  length = 1;
  EXPECT_THAT(call::attempt(
                  "getsockopt(SO_PEERSEC, optlen=1)",
                  [&] { return ::getsockopt(a.get(), SOL_SOCKET, SO_PEERSEC, context, &length); }),
              FailsWith(ERANGE));
  EXPECT_EQ(length, needed) << "optlen after ERANGE";
}

SOCKSPEC_RULE(PeerIdentityTest, PeerSecWithoutAnLsm,
              .text = "without an LSM that gives contexts, SO_PEERSEC fails with ENOPROTOOPT",
              .citation =
                  "unix(7) SO_PEERSEC; kernel: security_socket_getpeersec_stream() returns "
                  "-ENOPROTOOPT when no LSM implements it",
              .catalogue = "PC-08");
TEST_F(PeerIdentityTest, PeerSecWithoutAnLsm) {
  SOCKSPEC_REQUIRES("no-security-contexts");
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd a(pair.fds[0]), b(pair.fds[1]);
  char context[512];
  socklen_t length = sizeof context;
  EXPECT_THAT(call::attempt(
                  fmt::format("getsockopt({}, SOL_SOCKET, SO_PEERSEC)", a.get()),
                  [&] { return ::getsockopt(a.get(), SOL_SOCKET, SO_PEERSEC, context, &length); }),
              FailsWith(ENOPROTOOPT));
}

}  // namespace
}  // namespace sockspec
