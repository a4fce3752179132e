// Cases that go wrong on purpose, so the project's own tests can show what a user sees
// when a case fails: the message, the trace, the report of a hang, a peer's death.
// They are a separate binary (sockspec-examples) and never part of a conformance run.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/property.h"
#include "case/rule.h"
#include "os/fd.h"
#include "os/spawn.h"

namespace sockspec {
namespace {

class Examples : public CaseTest {};

SOCKSPEC_RULE(Examples, WrongErrno,
              .text = "recv with MSG_DONTWAIT on an empty socket fails with EAGAIN",
              .citation = "recv(2) ERRORS: EAGAIN");
TEST_F(Examples, WrongErrno) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  // Deliberately wrong: Linux says EAGAIN.
  EXPECT_THAT(call::recv(pair.fds[0], 1, MSG_DONTWAIT), FailsWith(ENOTCONN));
  ::close(pair.fds[0]);
  ::close(pair.fds[1]);
}

SOCKSPEC_RULE(Examples, HangsInAccept, .text = "accept on a listener nobody connects to blocks",
              .citation = "accept(2) DESCRIPTION");
TEST_F(Examples, HangsInAccept) {
  const int listener = static_cast<int>(must(call::socket(AF_UNIX, SOCK_STREAM, 0)).value);
  must(call::bind(listener, UnixAddress::pathname(here().path_name("srv"))));
  must(call::listen(listener, 1));
  call::accept(listener);  // never returns: the runner must kill the case at its deadline
}

SOCKSPEC_RULE(Examples, PeerKilledBySignal, .text = "a peer that crashes fails its case",
              .citation = "sockspec harness");
TEST_F(Examples, PeerKilledBySignal) {
  Peer& crasher = here().fork_peer("crasher", [](PeerSelf&) { ::raise(SIGSEGV); });
  crasher.expect_clean_exit();
}

SOCKSPEC_RULE(Examples, PeerExpectationFails, .text = "a peer's failed expectation fails its case",
              .citation = "sockspec harness");
TEST_F(Examples, PeerExpectationFails) {
  here().fork_peer("checker", [](PeerSelf&) {
    const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_DGRAM, 0));
    EXPECT_THAT(call::send(pair.fds[0], "ping", MSG_DONTWAIT), Returns(5));  // wrong: 4 bytes
  });
}

SOCKSPEC_RULE(Examples, PeerLeftRunning,
              .text = "a peer that forks a process of its own leaves nothing behind",
              .citation = "sockspec harness");
TEST_F(Examples, PeerLeftRunning) {
  Peer& parent = here().fork_peer("parent", [](PeerSelf& self) {
    if (::fork() == 0) {
      ::setpgid(0, 0);  // leaves the case's process group on purpose
      ::pause();
      ::_exit(0);
    }
    self.notify("forked");
  });
  parent.await("forked");
}

SOCKSPEC_RULE(Examples, PropertyFails, .text = "no datagram ever contains the byte 'x'",
              .citation = "deliberately false property");
TEST_F(Examples, PropertyFails) {
  check_property([] {
    const auto payload =
        *rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::inRange('a', 'z')));
    const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_DGRAM, 0));
    must(call::send(pair.fds[0], payload, 0));
    const CallResult got = call::recv(pair.fds[1], payload.size(), 0);
    ::close(pair.fds[0]);
    ::close(pair.fds[1]);
    RC_ASSERT(got.data.find('x') == std::string::npos);
  });
}

SOCKSPEC_RULE(Examples, Skips, .text = "a case that cannot run here says why",
              .citation = "sockspec harness");
TEST_F(Examples, Skips) {
  GTEST_SKIP() << "needs a frobnicator (apt-get install frobnicator)";
}

SOCKSPEC_RULE(Examples, Passes, .text = "a case with nothing to do passes",
              .citation = "sockspec harness");
TEST_F(Examples, Passes) {
  EXPECT_THAT(call::listen(-1, 1), FailsWith(EBADF));
}

// Hangs and waits: the runner must end the first kind at once (a hang verdict) and never the
// second, whose processes sleep on a timer or a timeout.

SOCKSPEC_RULE(Examples, HangsInRecv, .text = "recv on an idle socket blocks",
              .citation = "recv(2) DESCRIPTION");
TEST_F(Examples, HangsInRecv) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  call::recv(pair.fds[0], 1, 0);  // never returns: nobody writes
}

SOCKSPEC_RULE(Examples, PeerHangsInRecv, .text = "a peer's recv on an idle socket blocks",
              .citation = "recv(2) DESCRIPTION");
TEST_F(Examples, PeerHangsInRecv) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  here().fork_peer("reader", [&](PeerSelf&) { call::recv(pair.fds[0], 1, 0); });
  // The controller waits for the peer's end on its channel: the case can never go on.
}

SOCKSPEC_RULE(
    Examples, WaitsOnReceiveTimeout,
    .text = "recv on an idle socket with SO_RCVTIMEO fails with EAGAIN once the timeout passes",
    .citation = "socket(7) SO_RCVTIMEO");
TEST_F(Examples, WaitsOnReceiveTimeout) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Peer& reader = here().fork_peer("reader", [&](PeerSelf&) {
    const timeval three_seconds{3, 0};
    ASSERT_EQ(
        ::setsockopt(pair.fds[0], SOL_SOCKET, SO_RCVTIMEO, &three_seconds, sizeof three_seconds),
        0);
    EXPECT_THAT(call::recv(pair.fds[0], 1, 0), FailsWith(EAGAIN));
  });
  reader.expect_clean_exit();
}

SOCKSPEC_RULE(Examples, WaitsOnPollTimeout,
              .text = "poll on an idle socket returns 0 at its timeout",
              .citation = "poll(2) RETURN VALUE");
TEST_F(Examples, WaitsOnPollTimeout) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  EXPECT_THAT(call::poll(pair.fds[0], POLLIN, 2000), Returns(0));
}

namespace {
void on_alarm(int) {}
}  // namespace

SOCKSPEC_RULE(Examples, WaitsOnAlarm, .text = "pause returns once a caught SIGALRM arrives",
              .citation = "pause(2), alarm(2)");
TEST_F(Examples, WaitsOnAlarm) {
  struct sigaction caught {};
  caught.sa_handler = on_alarm;
  ASSERT_EQ(::sigaction(SIGALRM, &caught, nullptr), 0);
  ::alarm(2);
  EXPECT_EQ(::pause(), -1);
}

SOCKSPEC_RULE(Examples, LeavesAHelperAndHangs,
              .text =
                  "a case that started a helper in a session of its own, then hung, leaves nothing "
                  "behind",
              .citation = "sockspec harness");
TEST_F(Examples, LeavesAHelperAndHangs) {
  // cat reads a pipe whose other end this case holds and never writes: it waits for ever.
  int to_helper[2];
  ASSERT_EQ(::pipe(to_helper), 0);
  Child helper = spawn({.argv = {"/bin/cat"},
                        .in = Redirect::to_fd(to_helper[0]),
                        .out = Redirect::null(),
                        .grouping = Grouping::kOwnSession});
  helper.forget();  // as a daemon would be: nobody here will stop it
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  call::recv(pair.fds[0], 1, 0);
}

// A case that kills the case server it runs in: the runner starts a new server and runs the
// case once more. The first kills it only on its first run (a file in TMPDIR, which is the
// run's own dir, remembers), the second on every run, so its second run is its last and it
// fails.
namespace {
void kill_my_server_unless(const std::filesystem::path& marker) {
  if (std::filesystem::exists(marker)) return;
  std::ofstream(marker) << "killed once\n";
  ::kill(::getppid(), SIGKILL);
}
}  // namespace

SOCKSPEC_RULE(Examples, KillsItsServerOnce,
              .text = "a case whose server dies under it is run again by a new server",
              .citation = "sockspec harness");
TEST_F(Examples, KillsItsServerOnce) {
  kill_my_server_unless(std::filesystem::temp_directory_path() / "sockspec-killed-a-server");
}

SOCKSPEC_RULE(Examples, KillsItsServerEveryTime,
              .text = "a case whose server dies under it twice fails, saying how both died",
              .citation = "sockspec harness");
TEST_F(Examples, KillsItsServerEveryTime) {
  ::kill(::getppid(), SIGKILL);
  ::pause();  // the runner kills this process too, as an orphan of the dead server
}

// A stream socket listening at `address`.
Fd listening_at(const UnixAddress& address) {
  Fd listener(static_cast<int>(must(call::socket(AF_UNIX, SOCK_STREAM, 0)).value));
  must(call::bind(listener.get(), address));
  must(call::listen(listener.get(), 1));
  return listener;
}

// Three ways to write one exchange, for `sockspec faults --plan inject` on GoogleTest cases
// (googletest-faults.test). Unfaulted, all three pass. The first waits in accept() for a
// connection its peer may have failed to make; the second says nothing of what its raw
// send() returned; the third is the way the suite writes it.
SOCKSPEC_RULE(Examples, TrustsItsPeerToConnect,
              .text = "a connection is accepted (written so that a failed connect hangs it)",
              .citation = "sockspec harness");
TEST_F(Examples, TrustsItsPeerToConnect) {
  const UnixAddress address = UnixAddress::pathname(here().path_name("srv"));
  Fd listener = listening_at(address);
  here().fork_peer("client", [&](PeerSelf&) {
    Fd fd(static_cast<int>(must(call::socket(AF_UNIX, SOCK_STREAM, 0)).value));
    EXPECT_THAT(call::connect(fd.get(), address), Succeeds());
  });
  Fd accepted(static_cast<int>(must(call::accept(listener.get())).value));
}

SOCKSPEC_RULE(Examples, SaysNothingOfWhatItMet,
              .text = "a byte is sent (written so that a failure does not say why)",
              .citation = "sockspec harness");
TEST_F(Examples, SaysNothingOfWhatItMet) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd a(pair.fds[0]), b(pair.fds[1]);
  EXPECT_EQ(::send(a.get(), "x", 1, 0), 1) << "a byte";
}

SOCKSPEC_RULE(Examples, AsksThePeerFirst,
              .text = "a connection is accepted once the peer says it connected",
              .citation = "sockspec harness");
TEST_F(Examples, AsksThePeerFirst) {
  const UnixAddress address = UnixAddress::pathname(here().path_name("srv"));
  Fd listener = listening_at(address);
  Peer& client = here().fork_peer("client", [&](PeerSelf& self) {
    Fd fd(static_cast<int>(must(call::socket(AF_UNIX, SOCK_STREAM, 0)).value));
    ASSERT_THAT(call::connect(fd.get(), address), Succeeds());
    self.notify("connected");
    self.await("accepted");
  });
  client.await("connected");
  Fd accepted(static_cast<int>(must(call::accept(listener.get())).value));
  client.tell("accepted");
  client.expect_clean_exit();
}

SOCKSPEC_RULE(Examples, PeerFailsThenIsKilled,
              .text = "what a peer reported failed before the case killed it fails the case",
              .citation = "sockspec harness");
TEST_F(Examples, PeerFailsThenIsKilled) {
  Peer& peer = here().fork_peer("checker", [](PeerSelf& self) {
    EXPECT_THAT(call::listen(-1, 1), FailsWith(ENOTSOCK));  // wrong: EBADF
    self.notify("checked");
    self.await("never: the case kills this peer");
  });
  peer.await("checked");
  peer.kill_now();
}

SOCKSPEC_RULE(Examples, FailsWhileItsPeerWaits,
              .text = "a failed case ends a peer left waiting for what it will not do",
              .citation = "sockspec harness");
TEST_F(Examples, FailsWhileItsPeerWaits) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Peer& reader = here().fork_peer(
      "reader", [&](PeerSelf&) { EXPECT_THAT(call::recv(pair.fds[1], 1, 0), Receives("x")); });
  reader.wait_until_blocked_in("recvfrom");
  EXPECT_THAT(call::listen(-1, 1), FailsWith(ENOTSOCK));  // wrong on purpose: EBADF
  reader.expect_clean_exit();  // the byte is never sent: the reader would wait for ever
}

// Two more for the signal and kill plans (googletest-faults.test). The first takes a recv()
// interrupted by a caught signal for a lost byte and does not say what recv() returned; the
// second lets a child of it die unremarked. Unfaulted, both pass.
SOCKSPEC_RULE(Examples, SaysNothingOfAnInterruption,
              .text = "a byte reaches a peer asleep in recv() (written so that EINTR goes unnamed)",
              .citation = "sockspec harness");
TEST_F(Examples, SaysNothingOfAnInterruption) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd a(pair.fds[0]), b(pair.fds[1]);
  Peer& reader = here().fork_peer("reader", [&](PeerSelf&) {
    char byte = 0;
    EXPECT_EQ(::recv(b.get(), &byte, 1, 0), 1) << "a byte";
  });
  reader.wait_until_blocked_in("recvfrom");
  EXPECT_THAT(call::send(a.get(), "x", 0), Returns(1));
  reader.expect_clean_exit();
}

SOCKSPEC_RULE(Examples, IgnoresHowItsChildEnded,
              .text = "a child asks its socket's name (written so that its death goes unremarked)",
              .citation = "sockspec harness");
TEST_F(Examples, IgnoresHowItsChildEnded) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd a(pair.fds[0]), b(pair.fds[1]);
  std::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sockaddr_storage name{};
    socklen_t length = sizeof name;
    ::getsockname(a.get(), reinterpret_cast<sockaddr*>(&name), &length);
    ::_exit(0);
  }
  ::waitpid(child, nullptr, 0);  // how it ended is not asked
}

// Many trivial cases, for ci/bench to measure what the runner costs per case.
class Trivial : public CaseTest, public ::testing::WithParamInterface<int> {};
SOCKSPEC_RULE(Trivial, Passes, .text = "a case with nothing to do passes",
              .citation = "sockspec harness");
TEST_P(Trivial, Passes) {
  EXPECT_THAT(call::listen(-1, 1), FailsWith(EBADF));
}
INSTANTIATE_TEST_SUITE_P(Many, Trivial, ::testing::Range(0, 200));

}  // namespace
}  // namespace sockspec
