// Faults as steps of a case: a signal that interrupts a blocked call, and a peer killed at a
// chosen point. The fault-injection campaigns are built from these same steps.
//
// A syscall fault injected by strace is no case here: strace's error= replaces the call, so
// the kernel never sees it, and what follows would show only the harness, not AF_UNIX. A
// send the kernel itself refuses, and what it leaves queued, is
// DgramFailedSendTest.FailedSendTransfersNothing in suite/eagain_test.cc; what a caller sees
// of an injected fault through its C library is cases/16-injected-faults.
#include <signal.h>
#include <unistd.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/rule.h"

namespace sockspec {
namespace {

class FaultStepsTest : public CaseTest {};

volatile sig_atomic_t g_handler_ran = 0;
void note_signal(int) {
  g_handler_ran = 1;
}

void install_handler(int sig, int flags) {
  struct sigaction action {};
  action.sa_handler = note_signal;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  ::sigaction(sig, &action, nullptr);
}

SOCKSPEC_RULE(
    FaultStepsTest, SignalWithoutRestartInterruptsBlockedRecv,
    .text =
        "a recv() blocked on an AF_UNIX socket fails with EINTR when a handler without "
        "SA_RESTART catches a signal",
    .citation =
        "signal(7) 'Interruption of system calls and library functions by signal handlers'; "
        "recv(2) ERRORS: EINTR",
    .catalogue = "SG-01",
    .see_also = "cases/12-signals/01-caught-signal-interrupts-a-blocked-recv.case");
TEST_F(FaultStepsTest, SignalWithoutRestartInterruptsBlockedRecv) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Peer& reader = here().fork_peer("reader", [&](PeerSelf&) {
    install_handler(SIGUSR1, 0);
    const CallResult received = call::recv(pair.fds[1], 1, 0);
    EXPECT_THAT(received, FailsWith(EINTR));
    EXPECT_EQ(g_handler_ran, 1) << "the handler should have run before recv returned, and "
                                << received.describe() << " came first";
  });
  reader.wait_until_blocked_in("recvfrom");
  reader.send_signal(SIGUSR1);
  reader.expect_clean_exit();
}

SOCKSPEC_RULE(
    FaultStepsTest, SignalWithRestartResumesBlockedRecv,
    .text =
        "with SA_RESTART, a recv() blocked on an AF_UNIX socket (no SO_RCVTIMEO) is restarted "
        "after the handler and returns the data that arrives later",
    .citation =
        "signal(7) 'Interruption of system calls...': recv is restarted if SA_RESTART, unless a "
        "timeout is set with SO_RCVTIMEO",
    .catalogue = "SG-02", .see_also = "cases/12-signals/02-sa-restart-resumes-a-blocked-recv.case");
TEST_F(FaultStepsTest, SignalWithRestartResumesBlockedRecv) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Peer& reader = here().fork_peer("reader", [&](PeerSelf&) {
    install_handler(SIGUSR1, SA_RESTART);
    EXPECT_THAT(call::recv(pair.fds[1], 1, 0), Receives("x"));
    EXPECT_EQ(g_handler_ran, 1) << "the handler should have run while recv was blocked";
  });
  reader.wait_until_blocked_in("recvfrom");
  reader.send_signal(SIGUSR1);
  reader.wait_until_delivered(SIGUSR1);
  reader.wait_until_blocked_in("recvfrom");  // blocked again: restarted, not failed
  // Without its byte the reader would wait for ever: the case ends here, and the reader with it.
  ASSERT_THAT(call::send(pair.fds[0], "x", 0), Returns(1));
  reader.expect_clean_exit();
}

SOCKSPEC_RULE(
    FaultStepsTest, KilledWriterLeavesItsDataThenEof,
    .text =
        "when a process is killed, its socket is closed: the data it had sent stays queued "
        "for the reader, and then the reader sees end of file",
    .citation =
        "unix(7); close(2); unix_release_sock() marks the peer RCV_SHUTDOWN and keeps its queue",
    .catalogue = "ST-05",
    .see_also = "cases/12-signals/05-killed-writer-leaves-its-data-then-eof.case");
TEST_F(FaultStepsTest, KilledWriterLeavesItsDataThenEof) {
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Peer& writer = here().fork_peer("writer", [&](PeerSelf& self) {
    ::close(pair.fds[1]);
    EXPECT_THAT(call::send(pair.fds[0], "abc", 0), Returns(3));
    self.notify("sent");
    self.await("never said: the controller kills this peer here");
  });
  ::close(pair.fds[0]);
  writer.await("sent");
  const PeerOutcome outcome = writer.kill_now();
  EXPECT_FALSE(outcome.status.exited);
  EXPECT_EQ(outcome.status.signal, SIGKILL);
  EXPECT_THAT(call::recv(pair.fds[1], 16, 0), Receives("abc"));
  EXPECT_THAT(call::recv(pair.fds[1], 16, 0), ReturnsEof());
  ::close(pair.fds[1]);
}

}  // namespace
}  // namespace sockspec
