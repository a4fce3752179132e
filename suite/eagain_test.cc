// EAGAIN: "not now" from a socket call that would otherwise wait.
//
// A send or receive that cannot complete at once either waits (blocks) or fails with EAGAIN
// (EWOULDBLOCK is the same number on Linux). Two switches choose, and they differ in reach:
//   - MSG_DONTWAIT in the flags of send(2)/recv(2) applies to that one call only;
//   - O_NONBLOCK (fcntl(F_SETFL), or SOCK_NONBLOCK at creation) is a file status flag of the
//     open file description (open(2)): every fd that refers to it, made by dup(2) or
//     inherited across fork(2), in any process, sees the change.
//
// "Cannot complete at once" means:
//   - recv: nothing is queued and the connection has not ended. On SOCK_STREAM and
//     SOCK_SEQPACKET a peer that closed or shut down writing makes recv return what is still
//     queued, then 0 (end of file) for ever: end of file beats EAGAIN. SOCK_DGRAM has no end
//     of file: when the peer goes, recv returns what is queued and then EAGAIN again (or,
//     blocking, waits for ever).
//   - send: the sender's buffer is full. An AF_UNIX socket has no send queue of its own; what
//     it sends waits in the receiver's queue but is charged to the sender's SO_SNDBUF (kernel
//     memory per buffer, not payload bytes) until the receiver reads it. For SOCK_DGRAM there
//     is a second limit, the receiver's queue length: a receiver that is not connected back to
//     the sender (a /dev/log-style server) takes at most net.unix.max_dgram_qlen + 1 datagrams
//     (unix_dgram_sendmsg(): unix_recvq_full_lockless(); a blocking sender sleeps in
//     unix_wait_for_peer()). Between two sockets connected to each other (socketpair, or two
//     bound sockets each connect()ed to the other) the kernel skips that check and only
//     SO_SNDBUF counts.
#include <fcntl.h>
#include <poll.h>

#include <fstream>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/kind.h"
#include "case/rule.h"
#include "os/case_error.h"

namespace sockspec {
namespace {

using ::testing::ValuesIn;

// More sends than any default buffer takes, so a send that never says EAGAIN is a finding,
// not a hang.
constexpr int kMaxSends = 100'000;

const std::string& chunk() {
  static const std::string bytes(1024, 'x');
  return bytes;
}

// Sends `bytes` until the kernel says EAGAIN; returns how many sends succeeded. With
// flags == 0 the fd itself must be non-blocking. The EAGAIN must mean "full", and then
// poll() sees no room to write (a socket is writable only while it has used at most a
// quarter of SO_SNDBUF, and a connected datagram socket not while its peer's queue is
// full): one while poll() sees room (an injected fault, or a reader that made room
// meanwhile) is not the end.
int send_until_eagain(int fd, std::string_view bytes, int flags) {
  int sent = 0;
  for (int attempts = 0; attempts < kMaxSends; ++attempts) {
    const CallResult r = call::send(fd, bytes, flags);
    if (!r.failed()) {
      ++sent;
      continue;
    }
    if (r.err != EAGAIN) throw CaseError("filling the send buffer: " + r.describe());
    pollfd writable{fd, POLLOUT, 0};
    if (::poll(&writable, 1, 0) == 1 && (writable.revents & POLLOUT)) continue;
    return sent;
  }
  throw CaseError(
      fmt::format("{} sends of {} bytes never filled the buffer", kMaxSends, bytes.size()));
}

// Receives with MSG_DONTWAIT until EAGAIN; returns how many receives returned data. The
// EAGAIN must mean "empty", and then poll() sees nothing to read: one while poll() sees data
// (an injected fault, or a writer that sent more meanwhile) is not the end, which would
// leave a writer the case means to wake blocked for ever.
int drain(int fd) {
  int received = 0;
  for (int attempts = 0; attempts < kMaxSends; ++attempts) {
    const CallResult r = call::recv(fd, 65536, MSG_DONTWAIT);
    if (!r.failed() && r.value > 0) {
      ++received;
      continue;
    }
    if (!r.failed() || r.err != EAGAIN) throw CaseError("draining: " + r.describe());
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 0) == 1 && (readable.revents & POLLIN)) continue;
    return received;
  }
  throw CaseError("draining never ended");
}

// /proc/sys/net/unix/max_dgram_qlen: the receive queue length a datagram socket gets when
// it is created (per network namespace; the kernel default is 10).
std::optional<int> max_dgram_qlen() {
  std::ifstream file("/proc/sys/net/unix/max_dgram_qlen");
  int value = 0;
  if (file >> value) return value;
  return std::nullopt;
}

// A default SO_SNDBUF (net.core.wmem_default, 212992) holds a few hundred one-byte datagrams
// (each is charged its whole buffer, about 768 bytes). The queue-length limit can only be
// told apart from the send buffer when it is well below that.
constexpr int kLargestTellableQlen = 100;

// Why a case about the queue-length limit cannot be told apart from the send buffer here
// ("" when it can).
std::string why_qlen_is_not_tellable(const std::optional<int>& qlen) {
  if (!qlen) return "/proc/sys/net/unix/max_dgram_qlen is not readable (no /proc?)";
  if (*qlen > kLargestTellableQlen)
    return fmt::format(
        "net.unix.max_dgram_qlen is {}: the sender's SO_SNDBUF fills before the receiver's "
        "queue; run with sysctl -w net.unix.max_dgram_qlen=10 (the kernel default)",
        *qlen);
  return "";
}

bool is_flag_set(const CallResult& getfl, int flag) {
  return !getfl.failed() && (getfl.value & flag) != 0;
}

// ---------------------------------------------------------------------------------------
// MSG_DONTWAIT: on every kind, blocking or not.

class DontwaitEagainTest : public CaseTest, public ::testing::WithParamInterface<PairKind> {};

SOCKSPEC_RULE(
    DontwaitEagainTest, SendOnFullBufferFailsWithEagain,
    .text =
        "send() with MSG_DONTWAIT fails with EAGAIN while the sender's buffer is full of "
        "data the peer has not read, and succeeds again once the peer has read it",
    .citation =
        "send(2) MSG_DONTWAIT and ERRORS EAGAIN; unix(7) SO_SNDBUF; unix_stream_sendmsg() "
        "and unix_dgram_sendmsg() -> sock_alloc_send_pskb()",
    .linux_note = "MSG_DONTWAIT since Linux 2.2", .catalogue = "NB-05",
    .see_also = "cases/04-nonblocking/05-full-send-buffer-gives-eagain.case");
TEST_P(DontwaitEagainTest, SendOnFullBufferFailsWithEagain) {
  SocketPair pair = make_pair(GetParam(), here());
  EXPECT_GT(send_until_eagain(pair.a.get(), chunk(), MSG_DONTWAIT), 0);
  EXPECT_THAT(call::send(pair.a.get(), chunk(), MSG_DONTWAIT), FailsWith(EAGAIN));
  EXPECT_THAT(call::send(pair.a.get(), "x", MSG_DONTWAIT), FailsWith(EAGAIN));
  drain(pair.b.get());
  EXPECT_THAT(call::send(pair.a.get(), "x", MSG_DONTWAIT), Returns(1));
}

SOCKSPEC_RULE(DontwaitEagainTest, RecvOnEmptySocketFailsWithEagain,
              .text =
                  "recv() with MSG_DONTWAIT on a connected socket with nothing queued fails with "
                  "EAGAIN, on both ends",
              .citation =
                  "recv(2) MSG_DONTWAIT and ERRORS EAGAIN; unix_stream_read_generic(), "
                  "__unix_dgram_recvmsg()",
              .linux_note = "MSG_DONTWAIT since Linux 2.2", .catalogue = "NB-01",
              .see_also = "cases/04-nonblocking/01-msg-dontwait-on-an-empty-socket.case");
TEST_P(DontwaitEagainTest, RecvOnEmptySocketFailsWithEagain) {
  SocketPair pair = make_pair(GetParam(), here());
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
  EXPECT_THAT(call::recv(pair.a.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
}

INSTANTIATE_TEST_SUITE_P(Kinds, DontwaitEagainTest, ValuesIn(all_kinds()), KindName());

// ---------------------------------------------------------------------------------------
// O_NONBLOCK: the same EAGAIN without any flag.

class NonblockEagainTest : public CaseTest, public ::testing::WithParamInterface<PairKind> {};

SOCKSPEC_RULE(NonblockEagainTest, SendOnFullBufferFailsWithEagain,
              .text =
                  "on an O_NONBLOCK socket, send() without flags fails with EAGAIN while the "
                  "sender's buffer is full",
              .citation =
                  "send(2) ERRORS EAGAIN (\"the socket is marked nonblocking\"); fcntl(2) F_SETFL; "
                  "sock_sndtimeo() in sock_alloc_send_pskb()",
              .catalogue = "NB-06");
TEST_P(NonblockEagainTest, SendOnFullBufferFailsWithEagain) {
  SocketPair pair = make_pair(GetParam(), here());
  EXPECT_GT(send_until_eagain(pair.a.get(), chunk(), 0), 0);
  EXPECT_THAT(call::send(pair.a.get(), "x", 0), FailsWith(EAGAIN));
  EXPECT_THAT(call::write(pair.a.get(), "x"), FailsWith(EAGAIN));
}

SOCKSPEC_RULE(
    NonblockEagainTest, RecvOnEmptySocketFailsWithEagain,
    .text =
        "on an O_NONBLOCK socket with nothing queued, recv() and read() without flags "
        "fail with EAGAIN",
    .citation = "recv(2) ERRORS EAGAIN (\"the socket is marked nonblocking\"); read(2) EAGAIN",
    .catalogue = "NB-02", .see_also = "cases/04-nonblocking/03-o-nonblock-via-fcntl.case");
TEST_P(NonblockEagainTest, RecvOnEmptySocketFailsWithEagain) {
  SocketPair pair = make_pair(GetParam(), here());
  EXPECT_THAT(call::recv(pair.b.get(), 16, 0), FailsWith(EAGAIN));
  EXPECT_THAT(call::read(pair.b.get(), 16), FailsWith(EAGAIN));
}

INSTANTIATE_TEST_SUITE_P(Kinds, NonblockEagainTest,
                         ValuesIn(kinds_where([](const PairKind& k) { return k.nonblocking; })),
                         KindName());

// ---------------------------------------------------------------------------------------
// MSG_DONTWAIT changes one call: the next call on the same blocking socket waits again.

class DontwaitPerCallTest : public CaseTest, public ::testing::WithParamInterface<PairKind> {};

SOCKSPEC_RULE(
    DontwaitPerCallTest, RecvBlocksAgainWithoutTheFlag,
    .text =
        "MSG_DONTWAIT is per call: on a blocking socket recv(MSG_DONTWAIT) fails with "
        "EAGAIN and the very next recv() without the flag waits for data",
    .citation =
        "recv(2) MSG_DONTWAIT (\"a per-call option, whereas O_NONBLOCK is a setting on the "
        "open file description\")",
    .linux_note = "MSG_DONTWAIT since Linux 2.2", .catalogue = "ST-04",
    .see_also = "cases/03-stream/08-recv-blocks-until-data-arrives.case");
TEST_P(DontwaitPerCallTest, RecvBlocksAgainWithoutTheFlag) {
  SocketPair pair = make_pair(GetParam(), here());
  Peer& reader = here().fork_peer("reader", [&](PeerSelf&) {
    EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
    EXPECT_THAT(call::recv(pair.b.get(), 16, 0), Receives("x"));
  });
  reader.wait_until_blocked_in("recvfrom");
  EXPECT_THAT(call::send(pair.a.get(), "x", 0), Returns(1));
  reader.expect_clean_exit();
}

SOCKSPEC_RULE(DontwaitPerCallTest, SendBlocksAgainWithoutTheFlag,
              .text =
                  "MSG_DONTWAIT is per call: on a blocking socket whose buffer is full "
                  "send(MSG_DONTWAIT) fails with EAGAIN and the very next send() without the flag "
                  "waits until the peer reads",
              .citation =
                  "send(2) MSG_DONTWAIT (\"a per-call option\"); sock_alloc_send_pskb() waits in "
                  "sock_wait_for_wmem()",
              .linux_note = "MSG_DONTWAIT since Linux 2.2", .catalogue = "NB-03",
              .see_also = "cases/04-nonblocking/02-msg-dontwait-is-per-call.case");
TEST_P(DontwaitPerCallTest, SendBlocksAgainWithoutTheFlag) {
  SocketPair pair = make_pair(GetParam(), here());
  Peer& writer = here().fork_peer("writer", [&](PeerSelf&) {
    send_until_eagain(pair.a.get(), chunk(), MSG_DONTWAIT);
    EXPECT_THAT(call::send(pair.a.get(), "x", MSG_DONTWAIT), FailsWith(EAGAIN));
    EXPECT_THAT(call::send(pair.a.get(), "x", 0), Returns(1));
  });
  writer.wait_until_blocked_in("sendto");
  drain(pair.b.get());
  writer.expect_clean_exit();
}

INSTANTIATE_TEST_SUITE_P(Kinds, DontwaitPerCallTest,
                         ValuesIn(kinds_where([](const PairKind& k) { return !k.nonblocking; })),
                         KindName());

// ---------------------------------------------------------------------------------------
// O_NONBLOCK lives in the open file description, shared by dup() and fork().

class SharedNonblockTest : public CaseTest, public ::testing::WithParamInterface<PairKind> {};

SOCKSPEC_RULE(
    SharedNonblockTest, SetByAnotherProcessMakesRecvFailWithEagain,
    .text =
        "O_NONBLOCK set with fcntl() in one process on an fd inherited across fork() makes "
        "the other process's recv() without flags fail with EAGAIN: both fds refer to one "
        "open file description",
    .citation =
        "recv(2) MSG_DONTWAIT (O_NONBLOCK \"will affect ... other processes that hold file "
        "descriptors referring to the same open file description\"); open(2) \"Open file "
        "descriptions\"; fork(2)",
    .catalogue = "NB-04",
    .see_also = "cases/04-nonblocking/04-o-nonblock-is-shared-after-fork.case");
TEST_P(SharedNonblockTest, SetByAnotherProcessMakesRecvFailWithEagain) {
  SocketPair pair = make_pair(GetParam(), here());
  Peer& setter = here().fork_peer("setter", [&](PeerSelf& self) {
    const CallResult flags = call::fcntl(pair.b.get(), F_GETFL);
    ASSERT_THAT(flags, Succeeds());
    EXPECT_THAT(call::fcntl(pair.b.get(), F_SETFL, static_cast<int>(flags.value) | O_NONBLOCK),
                Succeeds());
    self.notify("set");
  });
  setter.await("set");
  setter.expect_clean_exit();
  const CallResult flags = call::fcntl(pair.b.get(), F_GETFL);
  EXPECT_TRUE(is_flag_set(flags, O_NONBLOCK)) << "O_NONBLOCK is not set: " << flags.describe();
  EXPECT_THAT(call::recv(pair.b.get(), 16, 0), FailsWith(EAGAIN));
}

SOCKSPEC_RULE(
    SharedNonblockTest, SetThroughDupMakesRecvFailWithEagain,
    .text =
        "O_NONBLOCK set with fcntl() on a dup() of a socket fd makes recv() without flags "
        "on the original fd fail with EAGAIN",
    .citation =
        "dup(2) (\"the two file descriptors ... share file status flags\"); open(2) "
        "\"Open file descriptions\"",
    .catalogue = "ST-16");
TEST_P(SharedNonblockTest, SetThroughDupMakesRecvFailWithEagain) {
  SocketPair pair = make_pair(GetParam(), here());
  const Fd copy(static_cast<int>(must(call::dup(pair.b.get())).value));
  const CallResult flags = must(call::fcntl(copy.get(), F_GETFL));
  EXPECT_THAT(call::fcntl(copy.get(), F_SETFL, static_cast<int>(flags.value) | O_NONBLOCK),
              Succeeds());
  const CallResult original = call::fcntl(pair.b.get(), F_GETFL);
  EXPECT_TRUE(is_flag_set(original, O_NONBLOCK))
      << "O_NONBLOCK is not set: " << original.describe();
  EXPECT_THAT(call::recv(pair.b.get(), 16, 0), FailsWith(EAGAIN));
}

// Which end or how it was named does not matter to a file status flag; the blocking kinds
// are where the change can be seen.
INSTANTIATE_TEST_SUITE_P(Kinds, SharedNonblockTest, ValuesIn(kinds_where([](const PairKind& k) {
                           return !k.nonblocking && !k.swapped;
                         })),
                         KindName());

// ---------------------------------------------------------------------------------------
// End of file beats EAGAIN on connection-oriented sockets.

class EofBeforeEagainTest : public CaseTest, public ::testing::WithParamInterface<PairKind> {};

SOCKSPEC_RULE(
    EofBeforeEagainTest, RecvAfterPeerClosedReturnsQueuedDataThenEof,
    .text =
        "after the peer closed, recv() with MSG_DONTWAIT (or on an O_NONBLOCK socket) "
        "returns the data still queued, then 0 (end of file) every time, never EAGAIN",
    .citation =
        "recv(2) RETURN VALUE (\"orderly shutdown ... 0\"); unix_release_sock() sets the "
        "peer's sk_shutdown; unix_stream_read_generic(); __unix_dgram_recvmsg() (\"Signal "
        "EOF on disconnected non-blocking SEQPACKET socket\")",
    .catalogue = "NB-07", .see_also = "cases/04-nonblocking/06-eof-beats-eagain.case");
TEST_P(EofBeforeEagainTest, RecvAfterPeerClosedReturnsQueuedDataThenEof) {
  SocketPair pair = make_pair(GetParam(), here());
  EXPECT_THAT(call::send(pair.a.get(), "ab", 0), Returns(2));
  EXPECT_THAT(call::close(pair.a.release()), Succeeds());
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), Receives("ab"));
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), ReturnsEof());
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), ReturnsEof());
  if (GetParam().nonblocking) {
    EXPECT_THAT(call::recv(pair.b.get(), 16, 0), ReturnsEof());
  }
}

SOCKSPEC_RULE(EofBeforeEagainTest, RecvAfterPeerShutWrReturnsQueuedDataThenEof,
              .text =
                  "after the peer's shutdown(SHUT_WR), recv() with MSG_DONTWAIT returns the data "
                  "still queued, then 0 (end of file), never EAGAIN, though the peer is still open",
              .citation =
                  "shutdown(2); recv(2) RETURN VALUE; unix_shutdown() gives the peer RCV_SHUTDOWN "
                  "(stream and seqpacket only)",
              .catalogue = "SQ-11");
TEST_P(EofBeforeEagainTest, RecvAfterPeerShutWrReturnsQueuedDataThenEof) {
  SocketPair pair = make_pair(GetParam(), here());
  EXPECT_THAT(call::send(pair.a.get(), "ab", 0), Returns(2));
  EXPECT_THAT(call::shutdown(pair.a.get(), SHUT_WR), Succeeds());
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), Receives("ab"));
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), ReturnsEof());
  if (GetParam().nonblocking) {
    EXPECT_THAT(call::recv(pair.b.get(), 16, 0), ReturnsEof());
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, EofBeforeEagainTest, ValuesIn(kinds_where([](const PairKind& k) {
                           return k.connection_oriented();
                         })),
                         KindName());

// ---------------------------------------------------------------------------------------
// SOCK_DGRAM has no end of file.

class DgramNoEofTest : public CaseTest, public ::testing::WithParamInterface<PairKind> {};

SOCKSPEC_RULE(DgramNoEofTest, RecvAfterPeerClosedReturnsQueuedDataThenEagain,
              .text =
                  "a SOCK_DGRAM socket has no end of file: after its connected peer closed, recv() "
                  "with MSG_DONTWAIT returns the datagrams still queued, then fails with EAGAIN as "
                  "before",
              .citation =
                  "recv(2) RETURN VALUE (0 is end of file only for stream sockets); "
                  "unix_release_sock() touches the peer's state only for stream and seqpacket; "
                  "__unix_dgram_recvmsg()",
              .catalogue = "DG-19",
              .see_also = "cases/07-datagram/15-no-end-of-file-for-datagrams.case");
TEST_P(DgramNoEofTest, RecvAfterPeerClosedReturnsQueuedDataThenEagain) {
  SocketPair pair = make_pair(GetParam(), here());
  EXPECT_THAT(call::send(pair.a.get(), "ab", 0), Returns(2));
  EXPECT_THAT(call::close(pair.a.release()), Succeeds());
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), Receives("ab"));
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
}

SOCKSPEC_RULE(DgramNoEofTest, RecvAfterPeerShutWrFailsWithEagain,
              .text =
                  "on SOCK_DGRAM the peer's shutdown(SHUT_WR) does not reach this end: recv() with "
                  "MSG_DONTWAIT returns what is queued, then fails with EAGAIN, not 0",
              .citation =
                  "unix_shutdown() passes the shutdown to the peer only for SOCK_STREAM and "
                  "SOCK_SEQPACKET",
              .catalogue = "DG-20, SH-06",
              .see_also = "cases/10-shutdown/10-shutdown-on-a-datagram-socket.case");
TEST_P(DgramNoEofTest, RecvAfterPeerShutWrFailsWithEagain) {
  SocketPair pair = make_pair(GetParam(), here());
  EXPECT_THAT(call::send(pair.a.get(), "ab", 0), Returns(2));
  EXPECT_THAT(call::shutdown(pair.a.get(), SHUT_WR), Succeeds());
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), Receives("ab"));
  EXPECT_THAT(call::recv(pair.b.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
}

INSTANTIATE_TEST_SUITE_P(Kinds, DgramNoEofTest, ValuesIn(kinds_where([](const PairKind& k) {
                           return k.type == SOCK_DGRAM;
                         })),
                         KindName());

class DgramBlockingNoEofTest : public CaseTest, public ::testing::WithParamInterface<PairKind> {};

SOCKSPEC_RULE(DgramBlockingNoEofTest, RecvAfterPeerClosedBlocks,
              .text =
                  "a blocking recv() on a SOCK_DGRAM socket whose connected peer has closed waits "
                  "(for a datagram from anyone who may still send to it); it does not return 0",
              .citation =
                  "unix_release_sock() (no shutdown passed to a datagram peer); "
                  "__skb_wait_for_more_packets()",
              .catalogue = "DG-19",
              .see_also = "cases/07-datagram/15-no-end-of-file-for-datagrams.case");
TEST_P(DgramBlockingNoEofTest, RecvAfterPeerClosedBlocks) {
  SocketPair pair = make_pair(GetParam(), here());
  EXPECT_THAT(call::close(pair.a.release()), Succeeds());
  Peer& reader = here().fork_peer("reader", [&](PeerSelf&) {
    const CallResult r = call::recv(pair.b.get(), 16, 0);
    ADD_FAILURE() << "expected recv to wait for ever, but " << r.describe();
  });
  reader.wait_until_blocked_in("recvfrom");
  reader.kill_now();  // what it reported, had recv returned, fails the case
}

INSTANTIATE_TEST_SUITE_P(Kinds, DgramBlockingNoEofTest, ValuesIn(kinds_where([](const PairKind& k) {
                           return k.type == SOCK_DGRAM && !k.nonblocking;
                         })),
                         KindName());

// ---------------------------------------------------------------------------------------
// What "full" means for SOCK_DGRAM.

// A receiver bound to a name, not connected to anyone, and a sender connected to it.
struct OneWayDgram {
  Fd receiver;
  Fd sender;
};

OneWayDgram make_one_way_dgram(const UnixAddress& name) {
  OneWayDgram pair{open_socket(SOCK_DGRAM), open_socket(SOCK_DGRAM)};
  must(call::bind(pair.receiver.get(), name));
  must(call::connect(pair.sender.get(), name));
  return pair;
}

class DgramQueueLengthTest : public CaseTest {};

SOCKSPEC_RULE(DgramQueueLengthTest, ReceiverNotConnectedBackTakesMaxDgramQlenPlusOne,
              .text =
                  "a SOCK_DGRAM receiver that is not connected back to the sender queues at most "
                  "net.unix.max_dgram_qlen + 1 datagrams; then send() with MSG_DONTWAIT fails with "
                  "EAGAIN until the receiver reads one",
              .citation =
                  "unix_dgram_sendmsg(): unix_peer(other) != sk && unix_recvq_full_lockless(other) "
                  "(queue length > sk_max_ack_backlog, set from /proc/sys/net/unix/max_dgram_qlen "
                  "in unix_create1())",
              .catalogue = "DG-06",
              .see_also = "cases/07-datagram/02-full-receiver-holds-the-sender-back.case");
TEST_F(DgramQueueLengthTest, ReceiverNotConnectedBackTakesMaxDgramQlenPlusOne) {
  const std::optional<int> qlen = max_dgram_qlen();
  if (const std::string why = why_qlen_is_not_tellable(qlen); !why.empty()) GTEST_SKIP() << why;
  for (const UnixAddress& name : {UnixAddress::pathname(here().path_name("log")),
                                  UnixAddress::abstract(here().abstract_name("log"))}) {
    SCOPED_TRACE("receiver bound to " + name.describe());
    OneWayDgram pair = make_one_way_dgram(name);
    EXPECT_EQ(send_until_eagain(pair.sender.get(), "x", MSG_DONTWAIT), *qlen + 1);
    EXPECT_THAT(call::send(pair.sender.get(), "x", MSG_DONTWAIT), FailsWith(EAGAIN));
    EXPECT_THAT(call::recv(pair.receiver.get(), 16, 0), Receives("x"));
    EXPECT_THAT(call::send(pair.sender.get(), "x", MSG_DONTWAIT), Returns(1));
  }
}

SOCKSPEC_RULE(DgramQueueLengthTest, BlockingSenderWaitsForRoomInReceiverQueue,
              .text =
                  "a blocking send() to a SOCK_DGRAM receiver whose queue is full (and that is not "
                  "connected back) waits until the receiver reads a datagram",
              .citation = "unix_dgram_sendmsg() -> unix_wait_for_peer()", .catalogue = "DG-06",
              .see_also = "cases/07-datagram/02-full-receiver-holds-the-sender-back.case");
TEST_F(DgramQueueLengthTest, BlockingSenderWaitsForRoomInReceiverQueue) {
  const std::optional<int> qlen = max_dgram_qlen();
  if (const std::string why = why_qlen_is_not_tellable(qlen); !why.empty()) GTEST_SKIP() << why;
  OneWayDgram pair = make_one_way_dgram(UnixAddress::abstract(here().abstract_name("log")));
  Peer& writer = here().fork_peer("writer", [&](PeerSelf&) {
    pair.receiver.reset();  // the controller's copy stays open
    // A full queue is the premise: this many datagrams, then EAGAIN.
    EXPECT_EQ(send_until_eagain(pair.sender.get(), "x", MSG_DONTWAIT), *qlen + 1)
        << "datagrams queued before EAGAIN (net.unix.max_dgram_qlen + 1)";
    EXPECT_THAT(call::send(pair.sender.get(), "last", 0), Returns(4));
  });
  writer.wait_until_blocked_in("sendto");
  EXPECT_THAT(call::recv(pair.receiver.get(), 16, 0), Receives("x"));
  writer.expect_clean_exit();
}

// A send the kernel refuses leaves nothing behind: neither the oversized datagram nor the
// one a full receiver had no room for is queued, and what the receiver reads is exactly the
// datagrams whose send succeeded, in the order they were sent.
class DgramFailedSendTest : public CaseTest {};

// Sends "0", "1", "2"... with MSG_DONTWAIT until the kernel says EAGAIN; returns how many
// sends succeeded.
int send_numbered_until_eagain(int fd) {
  for (int sends = 0; sends < kMaxSends; ++sends) {
    const CallResult r = call::send(fd, std::to_string(sends), MSG_DONTWAIT);
    if (!r.failed()) continue;
    if (r.err == EAGAIN) return sends;
    throw CaseError("filling the receiver: " + r.describe());
  }
  throw CaseError(fmt::format("{} datagrams never filled the receiver", kMaxSends));
}

SOCKSPEC_RULE(
    DgramFailedSendTest, FailedSendTransfersNothing,
    .text =
        "a SOCK_DGRAM send that fails transfers nothing: after a datagram larger than the "
        "send buffer fails with EMSGSIZE, or one to a full receiver fails with EAGAIN, the "
        "receiver gets exactly the datagrams whose send succeeded, in order",
    .citation =
        "send(2) ERRORS EMSGSIZE (\"the size of the message to be sent made this "
        "impossible\") and EAGAIN; unix(7) (datagram sockets are \"always reliable and don't "
        "reorder datagrams\"); unix_dgram_sendmsg(): EMSGSIZE when len > sk_sndbuf - 32, "
        "before any buffer is made; EAGAIN when the peer's queue is full "
        "(unix_recvq_full_lockless()) and the call may not wait, and the buffer is freed, "
        "not queued",
    .catalogue = "DG-05, DG-06");
TEST_F(DgramFailedSendTest, FailedSendTransfersNothing) {
  {
    SCOPED_TRACE("EMSGSIZE: a datagram larger than the send buffer");
    const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_DGRAM, 0));
    const Fd sender(pair.fds[0]);
    const Fd receiver(pair.fds[1]);
    must(call::setsockopt(sender.get(), SOL_SOCKET, SO_SNDBUF, 4096));
    const auto sndbuf =
        static_cast<std::size_t>(must(call::getsockopt(sender.get(), SOL_SOCKET, SO_SNDBUF)).value);
    const std::string oversized(sndbuf, 'x');  // Linux takes at most sndbuf - 32
    // MSG_DONTWAIT throughout: where the oversized datagram is not refused but waits for
    // room, the case fails at once instead of hanging.
    EXPECT_THAT(call::send(sender.get(), "before", MSG_DONTWAIT), Returns(6));
    EXPECT_THAT(call::send(sender.get(), oversized, MSG_DONTWAIT), FailsWith(EMSGSIZE));
    EXPECT_THAT(call::send(sender.get(), "after", MSG_DONTWAIT), Returns(5));
    EXPECT_THAT(call::recv(receiver.get(), 65536, MSG_DONTWAIT), Receives("before"));
    EXPECT_THAT(call::recv(receiver.get(), 65536, MSG_DONTWAIT), Receives("after"));
    EXPECT_THAT(call::recv(receiver.get(), 65536, MSG_DONTWAIT), FailsWith(EAGAIN));
  }
  {
    SCOPED_TRACE("EAGAIN: a datagram to a receiver whose queue is full");
    OneWayDgram pair = make_one_way_dgram(UnixAddress::abstract(here().abstract_name("log")));
    const int sent = send_numbered_until_eagain(pair.sender.get());
    EXPECT_GT(sent, 0);
    EXPECT_THAT(call::send(pair.sender.get(), "refused", MSG_DONTWAIT), FailsWith(EAGAIN));
    for (int i = 0; i < sent; ++i)
      EXPECT_THAT(call::recv(pair.receiver.get(), 16, MSG_DONTWAIT), Receives(std::to_string(i)));
    EXPECT_THAT(call::recv(pair.receiver.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
  }
}

class DgramSendBufferTest : public CaseTest, public ::testing::WithParamInterface<PairKind> {};

// How many one-byte datagrams a send buffer took, and its size as getsockopt() reads it.
struct SendBufferFill {
  int sndbuf = 0;
  int datagrams = 0;
};

// Sets the send buffer of `sender` to `asked` with setsockopt(), fills it with one-byte
// datagrams and reads them all back from `receiver`.
SendBufferFill fill_send_buffer(int sender, int receiver, int asked) {
  must(call::setsockopt(sender, SOL_SOCKET, SO_SNDBUF, asked));
  SendBufferFill fill;
  fill.sndbuf = static_cast<int>(must(call::getsockopt(sender, SOL_SOCKET, SO_SNDBUF)).value);
  fill.datagrams = send_until_eagain(sender, "x", MSG_DONTWAIT);
  EXPECT_EQ(drain(receiver), fill.datagrams)
      << "with SO_SNDBUF " << fill.sndbuf << ": the receiver should get every datagram sent";
  return fill;
}

// Each datagram is charged its whole buffer (its truesize: 768 bytes for one byte of data on
// x86-64 Linux 6.18), so the count follows SO_SNDBUF: setsockopt(65536) stores 131072 and 171
// one-byte datagrams fit; setsockopt(131072) stores 262144 and 342 fit. Both are above any
// queue length this file can tell apart (kLargestTellableQlen + 1). The check allows a
// quarter less than proportional, for whatever a datagram costs besides its buffer.
constexpr int kSmallSndbuf = 65536;
constexpr int kLargeSndbuf = 2 * kSmallSndbuf;

SOCKSPEC_RULE(
    DgramSendBufferTest, MutuallyConnectedPairIsLimitedBySendBufferOnly,
    .text =
        "between two SOCK_DGRAM sockets connected to each other the receiver queue length "
        "limit does not apply: more than net.unix.max_dgram_qlen + 1 datagrams queue, and "
        "EAGAIN comes from the sender's SO_SNDBUF: twice the buffer holds about twice the "
        "datagrams",
    .citation =
        "unix_dgram_sendmsg() skips unix_recvq_full_lockless() when unix_peer(other) == "
        "sk; unix(7) SO_SNDBUF; socket(7) SO_SNDBUF (the kernel doubles the value); "
        "sock_alloc_send_pskb() (room while sk_wmem_alloc < sk_sndbuf)",
    .catalogue = "DG-06, NB-06",
    .see_also = "cases/07-datagram/02-full-receiver-holds-the-sender-back.case");
TEST_P(DgramSendBufferTest, MutuallyConnectedPairIsLimitedBySendBufferOnly) {
  const std::optional<int> qlen = max_dgram_qlen();
  if (const std::string why = why_qlen_is_not_tellable(qlen); !why.empty()) GTEST_SKIP() << why;
  SocketPair pair = make_pair(GetParam(), here());
  const SendBufferFill small = fill_send_buffer(pair.a.get(), pair.b.get(), kSmallSndbuf);
  const SendBufferFill large = fill_send_buffer(pair.a.get(), pair.b.get(), kLargeSndbuf);
  EXPECT_GT(small.datagrams, *qlen + 1)
      << "SO_SNDBUF " << small.sndbuf
      << " held no more datagrams than the receiver's queue length allows";
  ASSERT_GT(large.sndbuf, small.sndbuf)
      << "setsockopt(SO_SNDBUF, " << kLargeSndbuf << ") did not make the buffer larger than "
      << "setsockopt(SO_SNDBUF, " << kSmallSndbuf << ") (net.core.wmem_max caps it)";
  const double proportional = static_cast<double>(small.datagrams) * large.sndbuf / small.sndbuf;
  EXPECT_GE(large.datagrams, 0.75 * proportional)
      << "SO_SNDBUF " << small.sndbuf << " held " << small.datagrams << " datagrams, SO_SNDBUF "
      << large.sndbuf << " held " << large.datagrams << ", not about " << proportional
      << ": the count does not follow the send buffer";
}

INSTANTIATE_TEST_SUITE_P(Kinds, DgramSendBufferTest, ValuesIn(kinds_where([](const PairKind& k) {
                           return k.type == SOCK_DGRAM && !k.swapped;
                         })),
                         KindName());

}  // namespace
}  // namespace sockspec
