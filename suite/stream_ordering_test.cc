// Ordering on SOCK_STREAM and SOCK_SEQPACKET: the same bytes, in the same order, and on
// SOCK_SEQPACKET the same message boundaries.
//
// unix(7): "SOCK_STREAM, for a stream-oriented socket and SOCK_SEQPACKET, for a
// sequenced-packet socket that is connection-oriented, preserves message boundaries, and
// delivers messages in the order that they were sent." A stream has no boundaries: the
// reader may see the writer's bytes split and joined in any way, but never reordered,
// duplicated or lost.
#include <poll.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/kind_gen.h"
#include "case/property.h"
#include "case/rule.h"
#include "os/case_error.h"

namespace sockspec {
namespace {

// Blocking sends; on a non-blocking end, waits for room with poll() and goes on.
void send_all(int fd, std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    const CallResult r = call::send(fd, bytes, 0);
    if (r.failed() && r.err == EAGAIN) {
      pollfd pfd{fd, POLLOUT, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
        throw CaseError("no room to send before the deadline: " + r.describe());
      continue;
    }
    must(r);
    bytes.remove_prefix(static_cast<std::size_t>(r.value));
  }
}

// One recv of up to `length` bytes; on a non-blocking end, waits for data with poll() first.
CallResult recv_when_ready(int fd, std::size_t length, Clock::time_point deadline) {
  while (true) {
    const CallResult r = call::recv(fd, length, 0);
    if (!(r.failed() && r.err == EAGAIN)) return r;
    pollfd pfd{fd, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      throw CaseError("nothing to receive before the deadline: " + r.describe());
  }
}

class StreamOrderingTest : public CaseTest {};

SOCKSPEC_RULE(
    StreamOrderingTest, ReaderGetsExactlyTheBytesWrittenInOrder,
    .text =
        "SOCK_STREAM delivers the bytes written by one peer to the other exactly and in "
        "order, however the writes and reads are split",
    .citation =
        "unix(7) DESCRIPTION (SOCK_STREAM); POSIX socket(3p) SOCK_STREAM; unix_stream_sendmsg()",
    .catalogue = "ST-01", .see_also = "cases/03-stream/06-bytes-arrive-in-order.case");
TEST_F(StreamOrderingTest, ReaderGetsExactlyTheBytesWrittenInOrder) {
  check_property([this] {
    const PairKind kind = *gen_kind([](const PairKind& k) { return k.type == SOCK_STREAM; });
    const auto writes = *rc::gen::container<std::vector<std::string>>(
        rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::arbitrary<char>())));
    const auto read_sizes = *rc::gen::nonEmpty(
        rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(1, 300)));
    std::string expected;
    for (const auto& w : writes) expected += w;

    SocketPair pair = make_pair(kind, here());
    Peer& writer = here().fork_peer("writer", [&](PeerSelf& self) {
      pair.b.reset();
      for (const auto& w : writes) send_all(pair.a.get(), w, self.deadline());
    });
    pair.a.reset();
    std::string received;
    for (std::size_t i = 0; received.size() < expected.size(); ++i) {
      const std::size_t want =
          std::min(read_sizes[i % read_sizes.size()], expected.size() - received.size());
      const CallResult r = recv_when_ready(pair.b.get(), want, here().deadline());
      RC_ASSERT(!r.failed());
      RC_ASSERT(r.value > 0);
      received += r.data;
    }
    writer.expect_clean_exit();
    RC_ASSERT(received == expected);
    // Once the writer is gone and everything is read, the stream ends.
    RC_ASSERT(call::recv(pair.b.get(), 1, MSG_DONTWAIT).value == 0);
  });
}

SOCKSPEC_RULE(StreamOrderingTest, SeqpacketKeepsMessagesAndTheirBoundaries,
              .text =
                  "SOCK_SEQPACKET delivers each message whole, once, in the order sent: one recv() "
                  "with room for the largest message returns exactly one message",
              .citation =
                  "unix(7) DESCRIPTION: SOCK_SEQPACKET 'preserves message boundaries, and delivers "
                  "messages in the order that they were sent'; unix_seqpacket_sendmsg()",
              .linux_note = "SOCK_SEQPACKET for AF_UNIX since Linux 2.6.4",
              .catalogue = "SQ-02, SQ-13",
              .see_also = "cases/08-seqpacket/02-message-boundaries-are-kept.case");
TEST_F(StreamOrderingTest, SeqpacketKeepsMessagesAndTheirBoundaries) {
  check_property([this] {
    const PairKind kind = *gen_kind([](const PairKind& k) { return k.type == SOCK_SEQPACKET; });
    const auto messages = *rc::gen::container<std::vector<std::string>>(rc::gen::nonEmpty(
        rc::gen::resize(2000, rc::gen::container<std::string>(rc::gen::arbitrary<char>()))));
    std::size_t largest = 1;
    for (const auto& m : messages) largest = std::max(largest, m.size());

    SocketPair pair = make_pair(kind, here());
    Peer& writer = here().fork_peer("writer", [&](PeerSelf& self) {
      pair.b.reset();
      for (const auto& m : messages) send_all(pair.a.get(), m, self.deadline());
    });
    pair.a.reset();
    for (const auto& sent : messages) {
      const CallResult r = recv_when_ready(pair.b.get(), largest + 1, here().deadline());
      RC_ASSERT(!r.failed());
      RC_ASSERT(r.data == sent);
    }
    writer.expect_clean_exit();
    RC_ASSERT(call::recv(pair.b.get(), 1, MSG_DONTWAIT).value == 0);
  });
}

}  // namespace
}  // namespace sockspec
