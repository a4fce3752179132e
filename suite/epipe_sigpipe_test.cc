// EPIPE and SIGPIPE: sending on a connection that can no longer carry data.
//
// A send on a connection-oriented AF_UNIX socket fails with EPIPE once nothing it sends could
// ever be read: the peer closed, the peer shut down reading (shutdown(SHUT_RD)), or this end
// shut down writing (shutdown(SHUT_WR)). It fails every time, and EPIPE comes before EAGAIN.
//
// On SOCK_STREAM the kernel also sends SIGPIPE to the writer (unix_stream_sendmsg(), label
// out_pipe: send_sig(SIGPIPE, current, 0) unless MSG_NOSIGNAL, and only when nothing was sent
// yet). The default action of SIGPIPE ends the process, so a server that writes to a client
// that has gone dies silently unless it passes MSG_NOSIGNAL or blocks or ignores the signal.
// write() has no flags argument, so it always raises it. What the writer sees depends on
// its signal state:
//   default       the writer is killed; the EPIPE is never seen;
//   blocked       send fails with EPIPE and SIGPIPE stays pending (sigpending(2)) until
//                 unblocked, when it kills the writer after all;
//   ignored       send fails with EPIPE and the signal is discarded: nothing pending;
//   MSG_NOSIGNAL  send fails with EPIPE and no signal is generated, even when blocked.
// Signal state is per process, and the cases change it only inside peers: the controller
// keeps SIGPIPE at its default, since what SIGPIPE does is under test.
//
// Where Linux and the documents part:
//   - SOCK_SEQPACKET: send(2) says EPIPE comes with SIGPIPE unless MSG_NOSIGNAL, and POSIX
//     send() asks the same of SOCK_SEQPACKET; but Linux sends seqpacket data through
//     unix_seqpacket_sendmsg() -> unix_dgram_sendmsg(), which returns EPIPE and never raises
//     SIGPIPE, whether the peer closed, shut down reading, or this end shut down writing.
//   - SOCK_DGRAM has no connection to break. A connected datagram socket whose peer closed
//     gets ECONNREFUSED on its next send, which also disconnects it, so later sends fail with
//     ENOTCONN; EPIPE appears only after a shutdown (the peer's SHUT_RD, or its own SHUT_WR);
//     SIGPIPE never.
//   - A stream or seqpacket peer that closed with unread data in its queue also leaves
//     ECONNRESET behind (unix_release_sock()); a seqpacket send reports that first
//     (sock_error() in unix_seqpacket_sendmsg()). The peers here close with empty queues.
#include <signal.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/kind.h"
#include "case/rule.h"

namespace sockspec {
namespace {

using ::testing::ValuesIn;

// How a connected pair is made unable to carry data from `a` to `b`.
enum class Breakage {
  kPeerClosed,  // close(b)
  kPeerShutRd,  // shutdown(b, SHUT_RD)
  kOwnShutWr,   // shutdown(a, SHUT_WR)
};

const char* breakage_name(Breakage how) {
  switch (how) {
    case Breakage::kPeerClosed:
      return "peer_closed";
    case Breakage::kPeerShutRd:
      return "peer_shut_rd";
    case Breakage::kOwnShutWr:
      return "own_shut_wr";
  }
  return "?";
}

// A kind of pair and how it is broken; instances are named "stream_socketpair_peer_closed".
struct BrokenPair {
  PairKind kind;
  Breakage how;
  std::string name() const { return kind.name() + "_" + breakage_name(how); }
};

void PrintTo(const BrokenPair& broken, std::ostream* os) {
  *os << broken.name();
}

std::vector<BrokenPair> broken_pairs(const std::function<bool(const PairKind&)>& holds,
                                     const std::vector<Breakage>& hows) {
  std::vector<BrokenPair> all;
  for (const PairKind& kind : kinds_where(holds))
    for (Breakage how : hows) all.push_back({kind, how});
  return all;
}

const std::vector<Breakage> kEveryBreakage = {Breakage::kPeerClosed, Breakage::kPeerShutRd,
                                              Breakage::kOwnShutWr};

// Makes the pair and breaks it, before any peer is forked: a peer then inherits `a` and,
// unless the peer was closed, `b`.
SocketPair make_broken_pair(const BrokenPair& broken, Case& here) {
  SocketPair pair = make_pair(broken.kind, here);
  switch (broken.how) {
    case Breakage::kPeerClosed:
      must(call::close(pair.b.release()));
      break;
    case Breakage::kPeerShutRd:
      must(call::shutdown(pair.b.get(), SHUT_RD));
      break;
    case Breakage::kOwnShutWr:
      must(call::shutdown(pair.a.get(), SHUT_WR));
      break;
  }
  return pair;
}

// Signal state, changed only inside peers.
sigset_t just_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  return set;
}

void block_sigpipe() {
  const sigset_t set = just_sigpipe();
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &set, nullptr), 0);
}

void unblock_sigpipe() {
  const sigset_t set = just_sigpipe();
  ASSERT_EQ(::sigprocmask(SIG_UNBLOCK, &set, nullptr), 0);
}

void ignore_sigpipe() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, nullptr), 0);
}

bool sigpipe_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  EXPECT_EQ(::sigpending(&pending), 0);
  return sigismember(&pending, SIGPIPE) == 1;
}

// ---------------------------------------------------------------------------------------
// EPIPE on stream and seqpacket.

class EpipeTest : public CaseTest, public ::testing::WithParamInterface<BrokenPair> {};

SOCKSPEC_RULE(EpipeTest, SendWithNosignalFailsWithEpipe,
              .text =
                  "on SOCK_STREAM and SOCK_SEQPACKET, send() with MSG_NOSIGNAL fails with EPIPE, "
                  "every time and also with MSG_DONTWAIT, after the peer closed, after the peer's "
                  "shutdown(SHUT_RD), and after this end's shutdown(SHUT_WR)",
              .citation =
                  "send(2) ERRORS EPIPE and MSG_NOSIGNAL; unix(7) ERRORS EPIPE; shutdown(2); "
                  "unix_stream_sendmsg() (SEND_SHUTDOWN, peer SOCK_DEAD or RCV_SHUTDOWN); "
                  "unix_dgram_sendmsg() and sock_alloc_send_pskb() for seqpacket",
              .linux_note = "MSG_NOSIGNAL since Linux 2.2", .catalogue = "AD-36, EP-01",
              .see_also = "cases/05-epipe-sigpipe/01-send-to-a-closed-peer-fails-with-epipe.case");
TEST_P(EpipeTest, SendWithNosignalFailsWithEpipe) {
  SocketPair pair = make_broken_pair(GetParam(), here());
  EXPECT_THAT(call::send(pair.a.get(), "x", MSG_NOSIGNAL), FailsWith(EPIPE));
  EXPECT_THAT(call::send(pair.a.get(), "x", MSG_NOSIGNAL), FailsWith(EPIPE));
  EXPECT_THAT(call::send(pair.a.get(), "x", MSG_NOSIGNAL | MSG_DONTWAIT), FailsWith(EPIPE));
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, EpipeTest,
    ValuesIn(broken_pairs([](const PairKind& k) { return k.connection_oriented(); },
                          kEveryBreakage)),
    KindName());

// ---------------------------------------------------------------------------------------
// SIGPIPE on SOCK_STREAM, under each signal state. Every send and write runs in a peer.

class StreamSigpipeTest : public CaseTest, public ::testing::WithParamInterface<BrokenPair> {};

SOCKSPEC_RULE(
    StreamSigpipeTest, SendWithoutNosignalKillsWriter,
    .text =
        "on SOCK_STREAM, send() without MSG_NOSIGNAL on a broken connection raises "
        "SIGPIPE, which under the default disposition kills the writer",
    .citation =
        "send(2) ERRORS EPIPE (\"the process will also receive a SIGPIPE unless "
        "MSG_NOSIGNAL is set\"); signal(7) SIGPIPE default action Term; "
        "unix_stream_sendmsg() out_pipe: send_sig(SIGPIPE)",
    .catalogue = "EP-02",
    .see_also = "cases/05-epipe-sigpipe/02-send-without-msg-nosignal-kills-the-writer.case");
TEST_P(StreamSigpipeTest, SendWithoutNosignalKillsWriter) {
  SocketPair pair = make_broken_pair(GetParam(), here());
  Peer& writer = here().fork_peer("writer", [&](PeerSelf&) {
    const CallResult r = call::send(pair.a.get(), "x", 0);
    ADD_FAILURE() << "the writer outlived " << r.describe();
  });
  writer.expect_killed_by(SIGPIPE);
}

SOCKSPEC_RULE(
    StreamSigpipeTest, WriteKillsWriter,
    .text =
        "on SOCK_STREAM, write() on a broken connection raises SIGPIPE (write has no flag "
        "to prevent it), which under the default disposition kills the writer",
    .citation =
        "write(2) ERRORS EPIPE (\"the writing process will also receive a SIGPIPE "
        "signal\"); sock_write_iter() -> unix_stream_sendmsg()",
    .catalogue = "EP-03", .see_also = "cases/05-epipe-sigpipe/03-write-always-raises-sigpipe.case");
TEST_P(StreamSigpipeTest, WriteKillsWriter) {
  SocketPair pair = make_broken_pair(GetParam(), here());
  Peer& writer = here().fork_peer("writer", [&](PeerSelf&) {
    const CallResult r = call::write(pair.a.get(), "x");
    ADD_FAILURE() << "the writer outlived " << r.describe();
  });
  writer.expect_killed_by(SIGPIPE);
}

SOCKSPEC_RULE(
    StreamSigpipeTest, BlockedSigpipeStaysPendingAndSendFailsWithEpipe,
    .text =
        "on SOCK_STREAM with SIGPIPE blocked, send() without MSG_NOSIGNAL fails with EPIPE "
        "and leaves SIGPIPE pending, and unblocking it then kills the writer",
    .citation =
        "send(2) ERRORS EPIPE; signal(7) \"Signal mask and pending signals\"; "
        "sigpending(2); unix_stream_sendmsg() send_sig(SIGPIPE)",
    .catalogue = "EP-02",
    .see_also = "cases/05-epipe-sigpipe/02-send-without-msg-nosignal-kills-the-writer.case");
TEST_P(StreamSigpipeTest, BlockedSigpipeStaysPendingAndSendFailsWithEpipe) {
  SocketPair pair = make_broken_pair(GetParam(), here());
  Peer& writer = here().fork_peer("writer", [&](PeerSelf&) {
    block_sigpipe();
    EXPECT_FALSE(sigpipe_pending()) << "SIGPIPE was pending before the send";
    const CallResult sent = call::send(pair.a.get(), "x", 0);
    EXPECT_THAT(sent, FailsWith(EPIPE));
    EXPECT_TRUE(sigpipe_pending()) << "no SIGPIPE pending after " << sent.describe();
    unblock_sigpipe();
    ADD_FAILURE() << "the writer outlived unblocking SIGPIPE";
  });
  writer.expect_killed_by(SIGPIPE);
}

SOCKSPEC_RULE(
    StreamSigpipeTest, IgnoredSigpipeIsDiscardedAndSendFailsWithEpipe,
    .text =
        "on SOCK_STREAM with SIGPIPE ignored (SIG_IGN), send() without MSG_NOSIGNAL fails "
        "with EPIPE and the signal is discarded: nothing is left pending",
    .citation =
        "send(2) ERRORS EPIPE; signal(7) dispositions; sigaction(2) SIG_IGN; "
        "sig_ignored() in kernel/signal.c",
    .catalogue = "EP-05",
    .see_also = "cases/05-epipe-sigpipe/04-ignored-sigpipe-leaves-only-epipe.case");
TEST_P(StreamSigpipeTest, IgnoredSigpipeIsDiscardedAndSendFailsWithEpipe) {
  SocketPair pair = make_broken_pair(GetParam(), here());
  Peer& writer = here().fork_peer("writer", [&](PeerSelf&) {
    ignore_sigpipe();
    EXPECT_THAT(call::send(pair.a.get(), "x", 0), FailsWith(EPIPE));
    EXPECT_FALSE(sigpipe_pending()) << "an ignored SIGPIPE was left pending";
  });
  writer.expect_clean_exit();
}

SOCKSPEC_RULE(
    StreamSigpipeTest, NosignalGeneratesNoSignalEvenWhenBlocked,
    .text =
        "on SOCK_STREAM, send() with MSG_NOSIGNAL fails with EPIPE without generating "
        "SIGPIPE at all: with SIGPIPE blocked, nothing is pending afterwards",
    .citation =
        "send(2) MSG_NOSIGNAL (\"Don't generate a SIGPIPE signal\"); unix_stream_sendmsg() "
        "checks MSG_NOSIGNAL before send_sig()",
    .linux_note = "MSG_NOSIGNAL since Linux 2.2", .catalogue = "EP-04",
    .see_also = "cases/05-epipe-sigpipe/05-blocked-sigpipe-stays-pending.case");
TEST_P(StreamSigpipeTest, NosignalGeneratesNoSignalEvenWhenBlocked) {
  SocketPair pair = make_broken_pair(GetParam(), here());
  Peer& writer = here().fork_peer("writer", [&](PeerSelf&) {
    block_sigpipe();
    EXPECT_THAT(call::send(pair.a.get(), "x", MSG_NOSIGNAL), FailsWith(EPIPE));
    EXPECT_FALSE(sigpipe_pending()) << "MSG_NOSIGNAL still generated SIGPIPE";
  });
  writer.expect_clean_exit();
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, StreamSigpipeTest,
    ValuesIn(broken_pairs([](const PairKind& k) { return k.type == SOCK_STREAM; }, kEveryBreakage)),
    KindName());

// ---------------------------------------------------------------------------------------
// SOCK_SEQPACKET and SOCK_DGRAM: EPIPE, but no SIGPIPE, on Linux.

class NoSigpipeTest : public CaseTest, public ::testing::WithParamInterface<BrokenPair> {};

SOCKSPEC_RULE(
    NoSigpipeTest, SendAndWriteFailWithEpipeWithoutSignal,
    .text =
        "on SOCK_SEQPACKET (any broken connection) and on a connected SOCK_DGRAM socket "
        "(after the peer's shutdown(SHUT_RD) or this end's shutdown(SHUT_WR)), send() "
        "without MSG_NOSIGNAL and write() fail with EPIPE and raise no SIGPIPE: the writer "
        "survives under the default disposition (for SOCK_SEQPACKET, Linux differs from "
        "send(2) and POSIX here)",
    .citation =
        "unix_seqpacket_sendmsg() -> unix_dgram_sendmsg(), which has no send_sig(): "
        "other->sk_shutdown & RCV_SHUTDOWN -> -EPIPE, sock_alloc_send_pskb(): SEND_SHUTDOWN "
        "-> -EPIPE; contrary to send(2) ERRORS EPIPE and POSIX send() EPIPE; recorded in "
        "google/gvisor#161",
    .linux_note = "checked on Linux 6.18", .catalogue = "EP-06",
    .see_also = "cases/05-epipe-sigpipe/08-seqpacket-gives-epipe-without-sigpipe.case");
TEST_P(NoSigpipeTest, SendAndWriteFailWithEpipeWithoutSignal) {
  SocketPair pair = make_broken_pair(GetParam(), here());
  Peer& writer = here().fork_peer("writer", [&](PeerSelf&) {
    EXPECT_THAT(call::send(pair.a.get(), "x", 0), FailsWith(EPIPE));
    EXPECT_THAT(call::write(pair.a.get(), "x"), FailsWith(EPIPE));
  });
  writer.expect_clean_exit();
}

std::vector<BrokenPair> pairs_without_sigpipe() {
  auto pairs =
      broken_pairs([](const PairKind& k) { return k.type == SOCK_SEQPACKET; }, kEveryBreakage);
  // A closed SOCK_DGRAM peer gives ECONNREFUSED instead (DgramPeerClosedTest).
  for (auto& p : broken_pairs([](const PairKind& k) { return k.type == SOCK_DGRAM; },
                              {Breakage::kPeerShutRd, Breakage::kOwnShutWr}))
    pairs.push_back(p);
  return pairs;
}

INSTANTIATE_TEST_SUITE_P(Kinds, NoSigpipeTest, ValuesIn(pairs_without_sigpipe()), KindName());

// ---------------------------------------------------------------------------------------
// SOCK_DGRAM: ECONNREFUSED when the peer is gone, EPIPE only after a shutdown, never SIGPIPE.

class DgramPeerClosedTest : public CaseTest, public ::testing::WithParamInterface<PairKind> {};

SOCKSPEC_RULE(
    DgramPeerClosedTest, SendFailsWithEconnrefusedThenEnotconn,
    .text =
        "a connected SOCK_DGRAM socket whose peer closed gets ECONNREFUSED (not EPIPE) from "
        "its next send(), which also disconnects it, so later sends fail with ENOTCONN; no "
        "SIGPIPE is raised",
    .citation =
        "unix_dgram_sendmsg(): peer SOCK_DEAD -> unix_peer(sk) = NULL, -ECONNREFUSED; then "
        "unix_peer_get() == NULL -> -ENOTCONN; send(2) ERRORS ENOTCONN",
    .catalogue = "EP-07",
    .see_also = "cases/05-epipe-sigpipe/09-dgram-peer-closed-econnrefused-then-enotconn.case");
TEST_P(DgramPeerClosedTest, SendFailsWithEconnrefusedThenEnotconn) {
  SocketPair pair = make_pair(GetParam(), here());
  must(call::close(pair.b.release()));
  Peer& writer = here().fork_peer("writer", [&](PeerSelf&) {
    EXPECT_THAT(call::send(pair.a.get(), "x", 0), FailsWith(ECONNREFUSED));
    EXPECT_THAT(call::send(pair.a.get(), "x", 0), FailsWith(ENOTCONN));
    EXPECT_THAT(call::getpeername(pair.a.get()), FailsWith(ENOTCONN));
  });
  writer.expect_clean_exit();
}

INSTANTIATE_TEST_SUITE_P(Kinds, DgramPeerClosedTest, ValuesIn(kinds_where([](const PairKind& k) {
                           return k.type == SOCK_DGRAM;
                         })),
                         KindName());

}  // namespace
}  // namespace sockspec
