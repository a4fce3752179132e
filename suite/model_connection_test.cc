// Model/ConnectionModelTest: random call sequences over a connected SOCK_STREAM or
// SOCK_SEQPACKET pair, each end held by its own actor process, checked call by call against a
// reference model written from the documented rules.
//
// The pair is made one of three ways (socketpair, or listen/connect/accept on a pathname or an
// abstract name), blocking or with O_NONBLOCK on both ends; rapidcheck picks the way and the
// calls. On a stream pair each end's SO_SNDBUF is set to 32768 (the kernel doubles it), so
// that the send-buffer limit can be reached in one call. The model's state, for each end (one
// actor's socket):
//
//   queue     what the peer sent that this end has not read, buffer by buffer as the kernel
//             queues it (its skbs): one per send on seqpacket (a record); on a stream one per
//             send of up to SO_SNDBUF/2 - 64 bytes, the last byte of a MSG_OOB send in a
//             buffer of its own, marked while it is the pending out-of-band byte, and an
//             emptied buffer left behind where recv(MSG_OOB) took one
//   stale     bytes FIONREAD still counts that are gone (a pending OOB byte an ordinary read
//             dropped; see kFionread)
//   rcv_shut  RCV_SHUTDOWN: this end shut its reading, or the peer shut its writing or closed
//   snd_shut  SEND_SHUTDOWN: this end shut its writing, or the peer shut its reading or closed
//   error     the pending socket error: ECONNRESET once the peer closed with bytes unread
//   peek_off  SO_PEEK_OFF on a stream end: where MSG_PEEK starts (-1: off)
//   open      the actor has not closed its socket; alive: it was not killed by SIGPIPE
//   blocked   a recv() waiting for the peer, or a send() waiting for room, and what it asked
//
// The commands are the calls: send (with MSG_OOB, and a flood of more than the send buffer
// holds), recv (recvmsg on seqpacket, to see MSG_TRUNC; MSG_OOB too), shutdown, close, poll,
// ioctl(FIONREAD), ioctl(TIOCOUTQ), ioctl(SIOCATMARK), SO_PEEK_OFF (set and read, on stream)
// and getsockopt(SO_ERROR), with their flags. Each command predicts its result from the state
// and changes the state as the kernel does; every prediction names its rule. The calls and
// predictions are written as a scripted case (see script/model_script.h): the interpreter
// runs it with real actor processes, a call the model says blocks must be seen blocked, and
// a failure is shrunk to a short script that `sockspec script` replays.
//
// Bounds: at most kMaxQueuedBuffers buffers and kMaxQueuedBytes bytes of ordinary sends wait
// at either end, besides a flood. Each buffer is charged about 768 bytes to its sender, so
// that many stay under a quarter of the send buffer, where poll() reports POLLOUT. How much
// a buffer is charged depends on the kernel's allocator; what the model relies on is only
// that a flood's two buffers of 32704 bytes fill the 65536 bytes between them, and that the
// small ones stay below a quarter. TIOCOUTQ is asked only when the peer has read everything
// (0): while bytes are unread it counts what the buffers are charged, not bytes.
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include "case/case.h"
#include "case/property.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/names.h"
#include "os/quote.h"
#include "protocol/case_protocol.h"
#include "script/model_command.h"
#include "script/model_script.h"

namespace sockspec {
namespace {

constexpr std::size_t kMaxQueuedBuffers = 16;  // of ordinary sends, at either end
constexpr std::size_t kMaxQueuedBytes = 1024;
// SO_SNDBUF as each stream end sets it, and what the kernel makes of it (socket(7): doubled).
constexpr int kSendBufferAsked = 32768;
constexpr std::size_t kSendBuffer = 2 * kSendBufferAsked;
// unix_stream_sendmsg() cuts a send into buffers of at most SO_SNDBUF/2 - 64 bytes.
constexpr std::size_t kLargestBuffer = kSendBuffer / 2 - 64;
// A flood: a send of more than the buffer takes. Its bytes are all kFloodByte.
constexpr std::size_t kFloodBytes = 3 * kLargestBuffer;
constexpr char kFloodByte = 'z';
// A read that asks for more than could ever be queued.
constexpr std::size_t kReadEverything = 100000;

// ---- The rules, as the model applies them ---------------------------------------------------

constexpr const char* kSendQueues = "a send to a live reader queues all of it (unix(7))";
constexpr const char* kSendEpipe =
    "EPIPE once the writing side is shut: own SHUT_WR, peer's SHUT_RD or close (send(2))";
constexpr const char* kSigpipe =
    "a stream EPIPE without MSG_NOSIGNAL also raises SIGPIPE, which kills (send(2))";
constexpr const char* kSeqpacketNoSigpipe =
    "seqpacket EPIPE raises no SIGPIPE (unix_dgram_sendmsg)";
constexpr const char* kSeqpacketSendReset =
    "seqpacket send reports the pending ECONNRESET first, once (unix_seqpacket_sendmsg)";
constexpr const char* kStreamReads =
    "a stream read takes up to len bytes across sends (recv(2), unix_stream_read_generic)";
constexpr const char* kPeekLeaves = "MSG_PEEK returns the bytes and leaves them queued (recv(2))";
constexpr const char* kWaitall = "MSG_WAITALL with len bytes queued returns len (recv(2))";
constexpr const char* kRecordReads =
    "a seqpacket read takes one whole record, cut to len, MSG_TRUNC if cut (unix(7))";
constexpr const char* kTruncGivesLength =
    "MSG_TRUNC in flags returns the record's real length (recv(2), unix(7))";
constexpr const char* kStreamResetAfterData =
    "stream: queued bytes first, then the pending ECONNRESET, once (unix_stream_read_generic)";
constexpr const char* kSeqpacketResetFirst =
    "seqpacket: the pending ECONNRESET before any record, once (__skb_try_recv_datagram)";
constexpr const char* kEof = "nothing queued and RCV_SHUTDOWN: end of file, 0 (recv(2))";
constexpr const char* kEagain = "nothing queued, non-blocking: EAGAIN (recv(2), unix(7))";
constexpr const char* kBlocks = "nothing queued, blocking, peer alive: the call waits (recv(2))";
constexpr const char* kWokenByData = "the waiting read wakes with what the peer sent";
constexpr const char* kWokenByEof = "the waiting read wakes at end of file";
constexpr const char* kWokenByReset = "the waiting read wakes with ECONNRESET";
constexpr const char* kShutdown =
    "shutdown() on a connected socket succeeds; the peer gets the mirror bits (unix_shutdown)";
constexpr const char* kClose =
    "close(): the peer gets RCV and SEND_SHUTDOWN, and ECONNRESET if data was left unread "
    "here, a lone empty record or emptied OOB buffer at the head not counting "
    "(unix_release_sock)";
constexpr const char* kPoll =
    "poll: POLLIN if a buffer is queued (even one recv(MSG_OOB) emptied) or RCV_SHUTDOWN, "
    "POLLPRI with an OOB byte pending, POLLRDHUP with RCV_SHUTDOWN, POLLHUP with both, "
    "POLLERR while an error is pending, POLLOUT while at most a quarter of the send buffer "
    "is taken (unix_poll, unix_writable)";
constexpr const char* kFionread =
    "FIONREAD: every unread byte queued (unix(7) SIOCINQ); on a stream Linux 6.18 goes on "
    "counting a pending OOB byte an ordinary read dropped (manage_oob() frees it without "
    "lowering inq_len)";
constexpr const char* kOutqEmpty =
    "TIOCOUTQ: 0 once the peer has read all this end sent (unix(7) SIOCOUTQ; it counts the "
    "kernel's buffers, not bytes, while anything is unread)";
constexpr const char* kPeekOff =
    "SO_PEEK_OFF: MSG_PEEK starts there and moves it on; a read moves it back by what it "
    "took; -1 turns it off (socket(7), sk_peek_offset_fwd/bwd)";
constexpr const char* kPeekOffBeyond =
    "a MSG_PEEK from SO_PEEK_OFF past the queued bytes finds nothing: as on an empty queue "
    "(unix_stream_read_generic)";
constexpr const char* kSoError = "SO_ERROR returns the pending error and clears it (socket(7))";
constexpr const char* kOobSend =
    "send(MSG_OOB): the last byte becomes the out-of-band byte, and an older one still "
    "pending becomes ordinary data (recv(2) MSG_OOB; queue_oob())";
constexpr const char* kOobNothing =
    "send(MSG_OOB) of no bytes: EOPNOTSUPP, before any other check (unix_stream_sendmsg)";
constexpr const char* kOobNotSeqpacket =
    "MSG_OOB on a seqpacket socket: EOPNOTSUPP, after a pending error on send "
    "(unix_dgram_sendmsg, __unix_dgram_recvmsg)";
constexpr const char* kOobRecv =
    "recv(MSG_OOB) takes the pending out-of-band byte, leaving an empty buffer as the mark; "
    "with MSG_PEEK it leaves the byte (recv(2), unix_stream_recv_urg)";
constexpr const char* kOobNone =
    "recv(MSG_OOB) with no out-of-band byte pending: EINVAL (unix_stream_recv_urg)";
constexpr const char* kAtTheMark =
    "a read stops at the out-of-band mark; one that starts at a pending OOB byte drops it and "
    "reads on (tcp(7) urgent data; manage_oob())";
constexpr const char* kAtMark =
    "SIOCATMARK: 1 when the next read starts at the out-of-band mark (tcp(7) SIOCATMARK; "
    "unix_ioctl())";
constexpr const char* kAtMarkStream =
    "SIOCATMARK is for streams only: EOPNOTSUPP on seqpacket (Linux 6.18)";
constexpr const char* kFlood =
    "a send larger than the send buffer takes what fits: buffers of SO_SNDBUF/2 - 64 bytes "
    "while less than SO_SNDBUF is charged, so two (send(2), unix_stream_sendmsg)";
constexpr const char* kFull =
    "with the send buffer full, a send fails with EAGAIN if non-blocking and otherwise waits "
    "(send(2) EAGAIN; sock_alloc_send_pskb)";
constexpr const char* kWokenByRoom =
    "the waiting send goes on once the peer has read enough that the charge is at most a "
    "quarter of the send buffer: only then does unix_write_space() wake it";
constexpr const char* kWokenByEvent =
    "anything that wakes the sender's socket (data for it, the peer's SHUT_WR) wakes the "
    "waiting send, which goes on if less than SO_SNDBUF is charged (sock_wait_for_wmem)";
constexpr const char* kWaitingSendReset =
    "the waiting send wakes with the pending ECONNRESET when the peer closes with data unread "
    "(sock_alloc_send_pskb checks sk_err first)";
constexpr const char* kWaitingSendEpipe =
    "the waiting send wakes with EPIPE and no SIGPIPE when the peer shuts its reading "
    "(sock_alloc_send_pskb fails; unix_stream_sendmsg raises SIGPIPE only at its own check)";

// ---- The model --------------------------------------------------------------------------

enum class Route { kSocketpair, kPathname, kAbstract };

// How rapidcheck shows a route in a counterexample.
void showValue(Route route, std::ostream& os) {
  os << (route == Route::kSocketpair ? "socketpair"
         : route == Route::kPathname ? "pathname"
                                     : "abstract");
}

// One of the kernel's buffers (an skb) in a receive queue.
struct Buffer {
  std::string bytes;   // what is left unread: empty where recv(MSG_OOB) took the byte
  bool oob = false;    // holds the pending out-of-band byte (u->oob_skb)
  bool flood = false;  // one of a flood's two buffers

  bool emptied_mark() const { return bytes.empty() && !oob; }
};

struct BlockedRecv {
  std::size_t length;
  int flags;
};

struct BlockedSend {
  std::string bytes;
  int flags;
};

struct End {
  std::string actor;  // "a" or "b"
  std::string fd;     // its socket's variable in the script
  std::deque<Buffer> queue;
  std::size_t stale = 0;
  bool rcv_shut = false;
  bool snd_shut = false;
  int error = 0;
  int peek_off = -1;  // SO_PEEK_OFF (stream): where MSG_PEEK starts, -1 when off
  bool open = true;
  bool alive = true;
  std::optional<BlockedRecv> blocked_recv;
  std::optional<BlockedSend> blocked_send;

  bool usable() const { return alive && open && !blocked_recv && !blocked_send; }
  bool present() const { return alive && open; }
  std::size_t queued_bytes() const {
    std::size_t n = 0;
    for (const auto& b : queue) n += b.bytes.size();
    return n;
  }
  std::size_t ordinary_bytes() const {
    std::size_t n = 0;
    for (const auto& b : queue) n += b.flood ? 0 : b.bytes.size();
    return n;
  }
  std::size_t ordinary_buffers() const {
    return static_cast<std::size_t>(
        std::count_if(queue.begin(), queue.end(), [](const Buffer& b) { return !b.flood; }));
  }
  std::size_t flood_buffers() const { return queue.size() - ordinary_buffers(); }
  bool pending_oob() const {
    return std::any_of(queue.begin(), queue.end(), [](const Buffer& b) { return b.oob; });
  }
  bool any_mark() const {
    return std::any_of(queue.begin(), queue.end(),
                       [](const Buffer& b) { return b.oob || b.bytes.empty(); });
  }
  // Where a stream read with `flags` starts: MSG_PEEK reads from SO_PEEK_OFF, when it is set.
  std::size_t skip(int flags) const {
    return (flags & MSG_PEEK) && peek_off > 0 ? static_cast<std::size_t>(peek_off) : 0;
  }
};

struct ConnectionModel {
  int type = SOCK_STREAM;
  Route route = Route::kSocketpair;
  bool nonblocking = false;
  bool oob = false;       // the kernel has MSG_OOB on AF_UNIX streams (af-unix-oob)
  bool used_oob = false;  // a call needing it was written: the script requires af-unix-oob
  int serial = 0;         // tells apart the names of successive trials in one case dir
  std::array<End, 2> ends{End{"a", "s"}, End{"b", "t"}};

  bool stream() const { return type == SOCK_STREAM; }
};

// A planted mistake for the self-test (harness/tests/model-counterexample.test): the model
// predicts one byte too many for FIONREAD, so the run must fail and shrink to a script that
// fails the same way. Read from the environment only when the suite runs on its own.
bool planted_mistake() {
  return protocol::variable("SOCKSPEC_MODEL_MISTAKE") == "fionread";
}

// ---- Reading ----------------------------------------------------------------------------

// What an ordinary stream read (no MSG_OOB) of `length` with `flags` takes from `self`,
// walking the buffers as unix_stream_read_generic() and manage_oob() do. It changes the
// queue as they do even when it takes nothing: an emptied mark at the head is thrown away,
// and so is a pending OOB byte the read starts at.
std::string stream_read(End& self, std::size_t length, int flags) {
  const bool peek = flags & MSG_PEEK;
  auto& q = self.queue;
  std::string got;
  std::size_t size = length;
  std::size_t skip = self.skip(flags);
  using At = std::optional<std::size_t>;
  // manage_oob(): the buffer the read goes on with, from buffer i; none: it stops there.
  auto past_marks = [&](std::size_t i) -> At {
    if (!q[i].bytes.empty() && !q[i].oob) return i;
    if (q[i].bytes.empty()) {
      if (!got.empty() && !self.pending_oob()) return std::nullopt;  // stop at the mark
      if (peek)
        ++i;
      else
        q.erase(q.begin() + static_cast<std::ptrdiff_t>(i));
      if (i >= q.size()) return std::nullopt;
    }
    if (!q[i].oob) return i;
    if (!got.empty()) return std::nullopt;  // stop before the pending byte
    if (peek) return i + 1 < q.size() ? At(i + 1) : std::nullopt;
    q.erase(q.begin() + static_cast<std::ptrdiff_t>(i));  // dropped, still counted
    ++self.stale;
    return q.empty() ? std::nullopt : At(0);
  };
  At at = q.empty() ? std::nullopt : At(0);
  for (;;) {
    if (at) at = past_marks(*at);
    if (!at) return got;
    // SO_PEEK_OFF's bytes are passed over buffer by buffer, with no look at the marks.
    while (at && skip >= q[*at].bytes.size()) {
      skip -= q[*at].bytes.size();
      if (++*at >= q.size()) at.reset();
    }
    if (!at) return got;
    Buffer& buffer = q[*at];
    const std::size_t chunk = std::min(buffer.bytes.size() - skip, size);
    got += buffer.bytes.substr(skip, chunk);
    size -= chunk;
    if (peek) {
      if (self.peek_off >= 0) self.peek_off += static_cast<int>(chunk);
      skip = 0;
      at = *at + 1 < q.size() ? At(*at + 1) : std::nullopt;
      if (!at) return got;
      continue;
    }
    buffer.bytes.erase(0, chunk);
    if (self.peek_off >= 0) self.peek_off = std::max(0, self.peek_off - static_cast<int>(chunk));
    if (!buffer.bytes.empty()) return got;
    q.erase(q.begin() + static_cast<std::ptrdiff_t>(*at));
    if (size == 0 || q.empty()) return got;
    at = 0;
  }
}

struct ReadResult {
  std::string expected;
  const char* why;
  std::size_t taken;  // bytes (a stream's: how far a read got)
};

// What a recv()/recvmsg() of `length` with `flags` gets from `self` when it finds something
// (consuming it unless MSG_PEEK); nothing when it finds nothing, having thrown away what the
// kernel throws away on the way.
std::optional<ReadResult> read_queued(ConnectionModel& m, End& self, std::size_t length,
                                      int flags) {
  const bool peek = flags & MSG_PEEK;
  if (m.stream()) {
    const bool marks = self.any_mark();
    const std::string got = stream_read(self, length, flags);
    if (got.empty()) return std::nullopt;
    return ReadResult{fmt::format("= {}", script_bytes(got)),
                      marks                   ? kAtTheMark
                      : self.peek_off >= 0    ? kPeekOff
                      : peek                  ? kPeekLeaves
                      : (flags & MSG_WAITALL) ? kWaitall
                                              : kStreamReads,
                      got.size()};
  }
  if (self.queue.empty()) return std::nullopt;
  const std::string record = self.queue.front().bytes;
  if (!peek) self.queue.pop_front();
  const std::string got = record.substr(0, length);
  const bool cut = record.size() > length;
  const std::string msg_flags = cut ? "MSG_TRUNC" : "0";
  if (flags & MSG_TRUNC)
    return ReadResult{fmt::format("= {} {} flags={}", record.size(), quote_bytes(got), msg_flags),
                      kTruncGivesLength, got.size()};
  return ReadResult{
      fmt::format("= {}{} flags={}", got.empty() ? "0 " : "", quote_bytes(got), msg_flags),
      peek ? kPeekLeaves : kRecordReads, got.size()};
}

// ---- Sending ----------------------------------------------------------------------------

// Queues an ordinary stream send (not a flood) at `reader` as the kernel cuts it: the bytes
// in one buffer, but the last byte of a MSG_OOB send in a buffer of its own, marked.
void queue_stream_send(End& reader, const std::string& bytes, int flags) {
  if (!(flags & MSG_OOB)) {
    if (!bytes.empty()) reader.queue.push_back({bytes});
    return;
  }
  if (bytes.size() > 1) reader.queue.push_back({bytes.substr(0, bytes.size() - 1)});
  for (Buffer& b : reader.queue) b.oob = false;
  reader.queue.push_back({bytes.substr(bytes.size() - 1), /*oob=*/true});
}

// The sender's buffer is full while both of a flood's buffers are unread.
bool send_buffer_full(const End& reader) {
  return reader.flood_buffers() == 2;
}

// A read still waiting at `reader` takes what just came, if the kernel lets it.
void wake_reader(ConnectionModel& m, End& reader, ModelLines& out) {
  if (!reader.blocked_recv) return;
  const BlockedRecv waiting = *reader.blocked_recv;
  const auto r = read_queued(m, reader, waiting.length, waiting.flags);
  if (!r) return;  // e.g. a lone OOB byte, dropped: the read goes back to sleep
  reader.blocked_recv.reset();
  out.push_back({reader.actor, "...", r->expected, kWokenByData});
}

// A send waiting for room at `reader`'s sender goes on once the flood has been read: that
// is when unix_write_space() wakes it.
void wake_sender(End& reader, End& sender, ModelLines& out) {
  if (!sender.blocked_send || reader.flood_buffers() != 0) return;
  const BlockedSend waiting = *sender.blocked_send;
  sender.blocked_send.reset();
  queue_stream_send(reader, waiting.bytes, waiting.flags);
  out.push_back({sender.actor, "...", fmt::format("= {}", waiting.bytes.size()), kWokenByRoom});
}

// Anything else that wakes the sender's socket (data arriving for it, the reader's SHUT_WR)
// wakes the waiting send too, and it goes on if a buffer fits: less than SO_SNDBUF charged,
// here once the flood's first buffer has been read (sock_wait_for_wmem()).
void wake_sender_by_event(End& reader, End& sender, ModelLines& out) {
  if (!sender.blocked_send || reader.flood_buffers() == 2) return;
  const BlockedSend waiting = *sender.blocked_send;
  sender.blocked_send.reset();
  queue_stream_send(reader, waiting.bytes, waiting.flags);
  out.push_back({sender.actor, "...", fmt::format("= {}", waiting.bytes.size()), kWokenByEvent});
}

// ---- What happens to the peer when an end goes away or shuts its writing --------------

// Wakes the peer's waiting recv() when nothing more can come (after a close or SHUT_WR).
void wake_at_end(End& reader, ModelLines& out) {
  if (!reader.blocked_recv) return;
  reader.blocked_recv.reset();
  if (reader.error != 0) {
    out.push_back(
        {reader.actor, "...", fmt::format("= -1 {}", errno_name(reader.error)), kWokenByReset});
    reader.error = 0;
  } else {
    out.push_back({reader.actor, "...", "= eof", kWokenByEof});
  }
}

// Whether closing an end with this queue resets the peer. Unread data does; but Linux looks
// past one empty buffer at the head of the queue (unix_release_sock()): an emptied OOB mark,
// or a lone zero-length seqpacket record.
bool unread_data_resets(const End& closing) {
  if (closing.queue.empty()) return false;
  return !closing.queue.front().bytes.empty() || closing.queue.size() > 1;
}

// The end `i` is closed, by close() or by its actor's death.
void end_goes_away(ConnectionModel& m, int i, ModelLines& out) {
  End& self = m.ends[static_cast<std::size_t>(i)];
  End& peer = m.ends[static_cast<std::size_t>(1 - i)];
  const bool unread = unread_data_resets(self);
  self.open = false;
  self.queue.clear();
  if (!peer.present()) return;
  peer.rcv_shut = peer.snd_shut = true;
  if (unread) peer.error = ECONNRESET;
  wake_at_end(peer, out);
  if (peer.blocked_send) {
    peer.blocked_send.reset();
    const int error = peer.error != 0 ? peer.error : EPIPE;
    out.push_back({peer.actor, "...", fmt::format("= -1 {}", errno_name(error)),
                   peer.error != 0 ? kWaitingSendReset : kWaitingSendEpipe});
    peer.error = 0;
  }
}

// ---- Commands ---------------------------------------------------------------------------

// A call made by one end's actor. The end is picked among those whose actor can make a
// call, and every command's first precondition is that it still can.
class ModelCommand : public ScriptedCommand<ConnectionModel> {
 public:
  void checkPreconditions(const ConnectionModel& m) const override { RC_PRE(own_end(m).usable()); }

 protected:
  explicit ModelCommand(const ConnectionModel& m) : who_(pick_usable(m)) {}

  End& own_end(ConnectionModel& m) const { return m.ends[index()]; }
  const End& own_end(const ConnectionModel& m) const { return m.ends[index()]; }
  End& other_end(ConnectionModel& m) const { return m.ends[1 - index()]; }
  const End& other_end(const ConnectionModel& m) const { return m.ends[1 - index()]; }
  const char* who_name() const { return who_ == 0 ? "a" : "b"; }

  // true once in n, whatever the size (gen::inRange narrows its range at small sizes).
  static rc::Gen<bool> one_in(std::size_t n) {
    return rc::gen::weightedElement<bool>({{1, true}, {n - 1, false}});
  }

  const int who_;  // 0: a's end, 1: b's

 private:
  std::size_t index() const { return static_cast<std::size_t>(who_); }
  static int pick_usable(const ConnectionModel& m) {
    std::vector<int> usable;
    for (int i = 0; i < 2; ++i)
      if (m.ends[static_cast<std::size_t>(i)].usable()) usable.push_back(i);
    return usable.empty() ? 0 : *rc::gen::elementOf(usable);
  }
};

class Send : public ModelCommand {
 public:
  explicit Send(const ConnectionModel& m)
      : ModelCommand(m),
        flood_(m.stream() && *one_in(8)),
        bytes_(flood_ ? std::string(kFloodBytes, kFloodByte)
                      : *rc::gen::container<std::string>(*rc::gen::inRange<std::size_t>(0, 25),
                                                         rc::gen::inRange('a', 'i'))),
        flags_(pick_flags(m, who_, flood_)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    const End& self = own_end(m);
    const End& peer = other_end(m);
    ModelCommand::checkPreconditions(m);
    RC_PRE(!(flags_ & MSG_OOB) || !m.stream() || m.oob);
    // Room, far from any limit but the flood's; and an actor killed by SIGPIPE must leave
    // the other end.
    RC_PRE(peer.ordinary_buffers() + 2 <= kMaxQueuedBuffers &&
           peer.ordinary_bytes() + (flood_ ? 0 : bytes_.size()) <= kMaxQueuedBytes);
    const bool would_die = m.stream() && self.snd_shut && !(flags_ & MSG_NOSIGNAL);
    RC_PRE(!would_die || peer.present());
    if (flood_) {
      // One flood at a time; and a waiting read must not take a whole buffer while the
      // second is being made (it would free room for a third).
      RC_PRE(peer.flood_buffers() == 0);
      RC_PRE(!peer.blocked_recv || peer.blocked_recv->length < kLargestBuffer);
    }
    // A send that waits for room needs a reader who can make it.
    const bool waits = m.stream() && !self.snd_shut && !bytes_.empty() && send_buffer_full(peer) &&
                       !m.nonblocking && !(flags_ & MSG_DONTWAIT);
    RC_PRE(!waits || peer.usable());
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = own_end(m);
    End& peer = other_end(m);
    const std::string call =
        fmt::format("send({}, {}, {})", self.fd, script_bytes(bytes_), msg_flags_name(flags_));
    auto result = [&](std::string expected, const char* why) {
      out.push_back({self.actor, call, std::move(expected), why});
    };
    if (!m.stream()) {
      if (self.error != 0) {
        result(fmt::format("= -1 {}", errno_name(self.error)), kSeqpacketSendReset);
        self.error = 0;
      } else if (flags_ & MSG_OOB) {
        result("= -1 EOPNOTSUPP", kOobNotSeqpacket);
      } else if (self.snd_shut) {
        result("= -1 EPIPE", kSeqpacketNoSigpipe);
      } else {
        result(fmt::format("= {}", bytes_.size()), kSendQueues);
        peer.queue.push_back({bytes_});
        wake_reader(m, peer, out);
      }
      return;
    }
    if (flags_ & MSG_OOB) m.used_oob = true;
    if ((flags_ & MSG_OOB) && bytes_.empty()) return result("= -1 EOPNOTSUPP", kOobNothing);
    if (self.snd_shut) {
      if (!(flags_ & MSG_NOSIGNAL)) {
        result("= killed by SIGPIPE", kSigpipe);
        self.alive = false;
        end_goes_away(m, who_, out);
        return;
      }
      return result("= -1 EPIPE", kSendEpipe);
    }
    if (bytes_.empty()) return result("= 0", kSendQueues);  // nothing to queue, no room asked
    if (send_buffer_full(peer)) {
      if (m.nonblocking || (flags_ & MSG_DONTWAIT)) return result("= -1 EAGAIN", kFull);
      result("= ...", kFull);
      self.blocked_send = BlockedSend{bytes_, flags_};
      return;
    }
    if (flood_) {
      for (int i = 0; i < 2; ++i)
        peer.queue.push_back({std::string(kLargestBuffer, kFloodByte), false, /*flood=*/true});
      result(fmt::format("= {}", 2 * kLargestBuffer), kFlood);
    } else {
      queue_stream_send(peer, bytes_, flags_);
      result(fmt::format("= {}", bytes_.size()), (flags_ & MSG_OOB) ? kOobSend : kSendQueues);
    }
    wake_reader(m, peer, out);
    wake_sender_by_event(self, peer, out);
  }
  std::string describe() const override {
    if (flood_) return fmt::format("{} floods ({})", who_name(), msg_flags_name(flags_));
    return fmt::format("{} sends {} ({})", who_name(), quote_bytes(bytes_), msg_flags_name(flags_));
  }

 private:
  // With its buffer full, a sender mostly makes a send that waits: what wakes it is the
  // point of a flood.
  static int pick_flags(const ConnectionModel& m, int who, bool flood) {
    const bool full = send_buffer_full(m.ends[static_cast<std::size_t>(1 - who)]);
    const int nosignal = *rc::gen::element(0, int{MSG_NOSIGNAL});
    const int dontwait = flood || (full ? *one_in(4) : *one_in(2)) ? int{MSG_DONTWAIT} : 0;
    const int oob = !flood && *one_in(4) ? int{MSG_OOB} : 0;
    return nosignal | dontwait | oob;
  }

  bool flood_;
  std::string bytes_;
  int flags_;
};

class Recv : public ModelCommand {
 public:
  explicit Recv(const ConnectionModel& m)
      : ModelCommand(m),
        length_(pick_length(own_end(m))),
        flags_(*rc::gen::element(0, int{MSG_DONTWAIT}, int{MSG_PEEK}, MSG_PEEK | MSG_DONTWAIT,
                                 int{MSG_WAITALL}, m.stream() ? 0 : int{MSG_TRUNC},
                                 m.stream() ? 0 : MSG_TRUNC | MSG_PEEK, int{MSG_OOB},
                                 MSG_OOB | MSG_PEEK)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    const End& self = own_end(m);
    const End& peer = other_end(m);
    ModelCommand::checkPreconditions(m);
    if (flags_ & MSG_OOB) {
      RC_PRE(!m.stream() || m.oob);
      return;  // never waits
    }
    ConnectionModel after = m;
    End& tried = own_end(after);
    const auto r = read_queued(after, tried, length_, flags_);
    const bool nothing = !r && self.error == 0 && !self.rcv_shut;
    const bool waits = nothing && !m.nonblocking && !(flags_ & MSG_DONTWAIT);
    // Only one actor waits at a time, and only for a peer that can still wake it; a peek
    // from SO_PEEK_OFF would go on waiting until the bytes pass the offset.
    RC_PRE(!waits || (peer.usable() && self.skip(flags_) == 0));
    if (m.stream()) {
      // MSG_WAITALL on a stream waits for all of len: modelled only when it is there.
      const std::size_t got = r ? r->taken : 0;
      if (flags_ & MSG_WAITALL) RC_PRE(got == length_ || (!r && !waits));
      // A read that frees the flood's last buffer wakes a waiting sender; had it room left,
      // it could take some of what that sender then sends, or not, by a race.
      if (peer.blocked_send && !(flags_ & MSG_PEEK) && tried.flood_buffers() == 0)
        RC_PRE(got == length_);
    }
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = own_end(m);
    End& peer = other_end(m);
    const std::string call = fmt::format("{}({}, {}, {})", m.stream() ? "recv" : "recvmsg", self.fd,
                                         length_, msg_flags_name(flags_));
    auto result = [&](std::string expected, const char* why) {
      out.push_back({self.actor, call, std::move(expected), why});
    };
    if (flags_ & MSG_OOB) return read_oob(m, self, result);
    if (!m.stream() && self.error != 0) {
      result(fmt::format("= -1 {}", errno_name(self.error)), kSeqpacketResetFirst);
      self.error = 0;
      return;
    }
    const std::size_t stale_before = self.stale;
    if (const auto r = read_queued(m, self, length_, flags_)) {
      result(r->expected, r->why);
      if (m.stream()) wake_sender(self, peer, out);
      return;
    }
    // Nothing found. A peek from SO_PEEK_OFF may have found bytes only before the offset.
    const char* why_nothing = self.stale != stale_before ? kAtTheMark
                              : !self.queue.empty()      ? kPeekOffBeyond
                                                         : nullptr;
    if (self.error != 0) {
      result(fmt::format("= -1 {}", errno_name(self.error)),
             why_nothing ? why_nothing : kStreamResetAfterData);
      self.error = 0;
      return;
    }
    if (self.rcv_shut) return result("= eof", why_nothing ? why_nothing : kEof);
    if (m.nonblocking || (flags_ & MSG_DONTWAIT))
      return result("= -1 EAGAIN", why_nothing ? why_nothing : kEagain);
    result("= ...", why_nothing ? why_nothing : kBlocks);
    self.blocked_recv = BlockedRecv{length_, flags_};
  }
  std::string describe() const override {
    return fmt::format("{} reads {} ({})", who_name(), length_, msg_flags_name(flags_));
  }

 private:
  // Mostly a few bytes; sometimes all there could be, exactly what is queued, or exactly the
  // first buffer (so that a flood can be read to the end of a buffer and no further). A
  // flood at the head is read in big pieces more often: a few bytes of it change little.
  static std::size_t pick_length(const End& self) {
    const bool flood_first = !self.queue.empty() && self.queue.front().flood;
    const int pick = flood_first ? *rc::gen::element(6, 7, 8, 9, 9)
                                 : *rc::gen::weightedElement<int>({{7, 6}, {1, 7}, {1, 8}, {1, 9}});
    if (pick == 7) return kReadEverything;
    if (pick == 8 && self.queued_bytes() > 0) return self.queued_bytes();
    if (pick == 9 && !self.queue.empty() && !self.queue.front().bytes.empty())
      return self.queue.front().bytes.size();
    return *rc::gen::inRange<std::size_t>(1, 33);
  }
  template <typename Result>
  void read_oob(ConnectionModel& m, End& self, Result result) const {
    if (!m.stream()) return result("= -1 EOPNOTSUPP", kOobNotSeqpacket);
    m.used_oob = true;
    const auto pending =
        std::find_if(self.queue.begin(), self.queue.end(), [](const Buffer& b) { return b.oob; });
    if (pending == self.queue.end()) return result("= -1 EINVAL", kOobNone);
    result(fmt::format("= {}", quote_bytes(pending->bytes)), kOobRecv);
    if (flags_ & MSG_PEEK) return;
    pending->bytes.clear();
    pending->oob = false;
    // No two emptied marks in a row: the one before goes (unix_stream_recv_urg()).
    if (pending != self.queue.begin() && std::prev(pending)->emptied_mark())
      self.queue.erase(std::prev(pending));
  }

  std::size_t length_;
  int flags_;
};

class Shutdown : public ModelCommand {
 public:
  explicit Shutdown(const ConnectionModel& m)
      : ModelCommand(m), how_(*rc::gen::element(int{SHUT_RD}, int{SHUT_WR}, int{SHUT_RDWR})) {}

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = own_end(m);
    End& peer = other_end(m);
    out.push_back(
        {self.actor, fmt::format("shutdown({}, {})", self.fd, shutdown_name()), "= 0", kShutdown});
    const bool reading = how_ == SHUT_RD || how_ == SHUT_RDWR;
    const bool writing = how_ == SHUT_WR || how_ == SHUT_RDWR;
    if (reading) self.rcv_shut = true;
    if (writing) self.snd_shut = true;
    if (!peer.present()) return;
    if (reading) {
      peer.snd_shut = true;
      if (peer.blocked_send) {
        peer.blocked_send.reset();
        out.push_back({peer.actor, "...", "= -1 EPIPE", kWaitingSendEpipe});
      }
    }
    if (writing) {
      peer.rcv_shut = true;
      wake_at_end(peer, out);
      if (m.stream()) wake_sender_by_event(self, peer, out);
    }
  }
  std::string describe() const override {
    return fmt::format("{} shuts down {}", who_name(), shutdown_name());
  }

 private:
  std::string shutdown_name() const {
    return how_ == SHUT_RD ? "SHUT_RD" : how_ == SHUT_WR ? "SHUT_WR" : "SHUT_RDWR";
  }
  int how_;
};

class Close : public ModelCommand {
 public:
  explicit Close(const ConnectionModel& m) : ModelCommand(m) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    ModelCommand::checkPreconditions(m);
    RC_PRE(other_end(m).present());  // someone is left to call
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    const End& self = own_end(m);
    out.push_back({self.actor, fmt::format("close({})", self.fd), "= 0", kClose});
    end_goes_away(m, who_, out);
  }
  std::string describe() const override { return fmt::format("{} closes", who_name()); }
};

class Poll : public ModelCommand {
 public:
  explicit Poll(const ConnectionModel& m) : ModelCommand(m) {}

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    const End& self = own_end(m);
    const End& peer = other_end(m);
    std::vector<std::string> revents;
    if (!self.queue.empty() || self.rcv_shut) revents.push_back("POLLIN");
    if (self.pending_oob()) revents.push_back("POLLPRI");
    // What this end sent waits in the peer's queue, charged to this end's send buffer.
    if (peer.flood_buffers() == 0) revents.push_back("POLLOUT");
    if (self.error != 0) revents.push_back("POLLERR");
    if (self.rcv_shut && self.snd_shut) revents.push_back("POLLHUP");
    if (self.rcv_shut) revents.push_back("POLLRDHUP");
    const std::string returned =
        revents.empty() ? "= 0" : fmt::format("= 1 revents={}", fmt::join(revents, "|"));
    out.push_back({self.actor,
                   fmt::format("poll({}, POLLIN|POLLPRI|POLLOUT|POLLRDHUP, 0)", self.fd), returned,
                   kPoll});
  }
  std::string describe() const override { return fmt::format("{} polls", who_name()); }
};

class Fionread : public ModelCommand {
 public:
  explicit Fionread(const ConnectionModel& m) : ModelCommand(m) {}

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    const End& self = own_end(m);
    const std::size_t predicted = self.queued_bytes() + self.stale + (planted_mistake() ? 1 : 0);
    out.push_back({self.actor, fmt::format("ioctl({}, FIONREAD)", self.fd),
                   fmt::format("= {}", predicted), kFionread});
  }
  std::string describe() const override { return fmt::format("{} asks FIONREAD", who_name()); }
};

// TIOCOUTQ, asked only when the answer is a number of bytes: 0, all read.
class Outq : public ModelCommand {
 public:
  explicit Outq(const ConnectionModel& m) : ModelCommand(m) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    ModelCommand::checkPreconditions(m);
    RC_PRE(other_end(m).queue.empty());
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    const End& self = own_end(m);
    out.push_back({self.actor, fmt::format("ioctl({}, TIOCOUTQ)", self.fd), "= 0", kOutqEmpty});
  }
  std::string describe() const override { return fmt::format("{} asks TIOCOUTQ", who_name()); }
};

// SIOCATMARK, where the kernel has AF_UNIX out-of-band data (the ioctl comes with it).
class AtMark : public ModelCommand {
 public:
  explicit AtMark(const ConnectionModel& m) : ModelCommand(m) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    RC_PRE(m.oob);
    ModelCommand::checkPreconditions(m);
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    const End& self = own_end(m);
    const std::string call = fmt::format("ioctl({}, SIOCATMARK)", self.fd);
    m.used_oob = true;
    if (!m.stream()) return out.push_back({self.actor, call, "= -1 EOPNOTSUPP", kAtMarkStream});
    // At the pending byte; or at an emptied buffer with no byte pending or the pending one
    // next.
    const auto& q = self.queue;
    const bool at_mark =
        !q.empty() &&
        (q[0].oob || (q[0].bytes.empty() && (!self.pending_oob() || (q.size() > 1 && q[1].oob))));
    out.push_back({self.actor, call, at_mark ? "= 1" : "= 0", kAtMark});
  }
  std::string describe() const override { return fmt::format("{} asks SIOCATMARK", who_name()); }
};

// SO_PEEK_OFF on a stream end: set it, or read it back.
class PeekOffset : public ModelCommand {
 public:
  explicit PeekOffset(const ConnectionModel& m)
      : ModelCommand(m), set_(*rc::gen::arbitrary<bool>()), value_(*rc::gen::inRange(-1, 9)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    RC_PRE(m.stream());
    const End& self = own_end(m);
    ModelCommand::checkPreconditions(m);
    // The case language reads an option value of -1 as a failed call: read back only 0 and up.
    RC_PRE(set_ || self.peek_off >= 0);
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = own_end(m);
    if (set_) {
      out.push_back({self.actor,
                     fmt::format("setsockopt({}, SOL_SOCKET, SO_PEEK_OFF, {})", self.fd, value_),
                     "= 0", kPeekOff});
      self.peek_off = value_;
      return;
    }
    out.push_back({self.actor, fmt::format("getsockopt({}, SOL_SOCKET, SO_PEEK_OFF)", self.fd),
                   fmt::format("= {}", self.peek_off), kPeekOff});
  }
  std::string describe() const override {
    return set_ ? fmt::format("{} sets SO_PEEK_OFF to {}", who_name(), value_)
                : fmt::format("{} reads SO_PEEK_OFF", who_name());
  }

 private:
  bool set_;
  int value_;
};

class SoError : public ModelCommand {
 public:
  explicit SoError(const ConnectionModel& m) : ModelCommand(m) {}

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = own_end(m);
    out.push_back({self.actor, fmt::format("getsockopt({}, SOL_SOCKET, SO_ERROR)", self.fd),
                   fmt::format("= {}", self.error == 0 ? "0" : errno_name(self.error)), kSoError});
    self.error = 0;
  }
  std::string describe() const override { return fmt::format("{} takes SO_ERROR", who_name()); }
};

// ---- Set-up and the property ------------------------------------------------------------

std::string type_name(int type) {
  return type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_SEQPACKET";
}

// Connects the pair the model's route names: a's socket is `s`, b's is `t`.
void write_setup(const ConnectionModel& m, ModelScript& script) {
  const std::string type = type_name(m.type) + (m.nonblocking ? "|SOCK_NONBLOCK" : "");
  if (m.route == Route::kSocketpair) {
    script.add("a", fmt::format("s, t = socketpair(AF_UNIX, {}, 0)", type));
    script.add("a", "fork b");
    script.add("a", "close(t)", "= 0");
    script.add("b", "close(s)", "= 0");
  } else {
    const std::string name = m.route == Route::kPathname ? fmt::format("\"srv{}\"", m.serial)
                                                         : fmt::format("@\"srv{}\"", m.serial);
    script.add("b", fmt::format("l = socket(AF_UNIX, {}, 0)", type_name(m.type)));
    script.add("b", fmt::format("bind(l, {})", name), "= 0");
    script.add("b", "listen(l, 1)", "= 0");
    script.add("a", fmt::format("s = socket(AF_UNIX, {}, 0)", type));
    script.add("a", fmt::format("connect(s, {})", name), "= 0");
    script.add("b", m.nonblocking ? "t = accept4(l, SOCK_NONBLOCK)" : "t = accept(l)");
    script.add("b", "close(l)", "= 0");
  }
  if (!m.stream()) return;
  for (const End& end : m.ends)
    script.add(end.actor,
               fmt::format("setsockopt({}, SOL_SOCKET, SO_SNDBUF, {})", end.fd, kSendBufferAsked),
               "= 0");
}

class ConnectionModelTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Model, ConnectionModelTest, ::testing::Values(SOCK_STREAM, SOCK_SEQPACKET),
                         SocketTypeName());

SOCKSPEC_RULE(ConnectionModelTest, CallSequencesFollowTheModel,
              .text =
                  "any sequence of send (MSG_OOB, more than the send buffer takes), recv "
                  "(MSG_OOB), shutdown, close, poll, FIONREAD, TIOCOUTQ, SIOCATMARK, "
                  "SO_PEEK_OFF and SO_ERROR by "
                  "the two actors holding a connected stream or seqpacket pair gives, call by "
                  "call, what the model of the documented rules predicts (the model's state "
                  "and rules are in the file's header)",
              .citation =
                  "unix(7); send(2), recv(2), shutdown(2), close(2), poll(2), socket(7) "
                  "SO_ERROR, SO_SNDBUF; tcp(7) urgent data; kernel: unix_stream_sendmsg(), "
                  "queue_oob(), unix_stream_read_generic(), manage_oob(), "
                  "unix_stream_recv_urg(), sock_alloc_send_pskb(), unix_write_space(), "
                  "unix_seqpacket_sendmsg(), __unix_dgram_recvmsg(), unix_shutdown(), "
                  "unix_release_sock(), unix_poll(), unix_dgram_poll(), unix_inq_len()",
              .catalogue =
                  "ST-01, ST-02, ST-03, ST-04, ST-05, ST-06, SQ-02, SQ-03, SQ-04, SQ-05, SQ-07, "
                  "EP-01, EP-02, EP-04, EP-06, SH-01, SH-02, SH-03, NB-05, NB-07, IO-01, "
                  "MF-17");
TEST_P(ConnectionModelTest, CallSequencesFollowTheModel) {
  const int type = GetParam();
  const bool oob = why_missing("af-unix-oob").empty();
  int serial = 0;
  check_property_in_time(
      [&] {
        if (property_time_is_up()) return;
        ConnectionModel model;
        model.type = type;
        model.route = *rc::gen::element(Route::kSocketpair, Route::kPathname, Route::kAbstract);
        model.nonblocking = *rc::gen::arbitrary<bool>();
        model.oob = oob;
        model.serial = ++serial;
        ScriptUnderConstruction<ConnectionModel> sut{
            ModelScript(fmt::format("A random exchange over a connected {} pair follows the model "
                                    "of suite/model_connection_test.cc.",
                                    type_name(type)),
                        "unix(7); send(2), recv(2), shutdown(2), poll(2); the rules on each line"),
            model};
        write_setup(model, sut.script);
        rc::state::check(
            model, sut,
            rc::state::gen::execOneOfWithArgs<Send, Send, Send, Recv, Recv, Recv, Shutdown, Close,
                                              Poll, Fionread, Outq, AtMark, PeekOffset, SoError>());
        // A call still waiting at the end is woken by its peer's close.
        for (int i = 0; i < 2; ++i)
          if (const End& waiting = sut.latest.ends[static_cast<std::size_t>(i)];
              waiting.blocked_recv || waiting.blocked_send) {
            ModelLines lines;
            const End& closer = sut.latest.ends[static_cast<std::size_t>(1 - i)];
            lines.push_back({closer.actor, fmt::format("close({})", closer.fd), "= 0", kClose});
            end_goes_away(sut.latest, 1 - i, lines);
            sut.add(lines);
          }
        if (sut.latest.used_oob) sut.script.require("af-unix-oob");
        check_model_script(sut.script, "ConnectionModel-" + socket_type_name(type));
      },
      here().deadline());
}

}  // namespace
}  // namespace sockspec
