// Model/ConnectionModelTest: random call sequences over a connected SOCK_STREAM or
// SOCK_SEQPACKET pair, each end held by its own actor process, checked call by call against a
// reference model written from the documented rules.
//
// The pair is made one of three ways (socketpair, or listen/connect/accept on a pathname or an
// abstract name), blocking or with O_NONBLOCK on both ends; rapidcheck picks the way and the
// calls. The model's state, for each end (one actor's socket):
//
//   queue     what the peer sent that this end has not read: one string of bytes per send on a
//             stream (read across their boundaries), one record per send on a seqpacket socket
//   rcv_shut  RCV_SHUTDOWN: this end shut its reading, or the peer shut its writing or closed
//   snd_shut  SEND_SHUTDOWN: this end shut its writing, or the peer shut its reading or closed
//   error     the pending socket error: ECONNRESET once the peer closed with bytes unread
//   peek_off  SO_PEEK_OFF on a stream end: where MSG_PEEK starts (-1: off)
//   open      the actor has not closed its socket; alive: it was not killed by SIGPIPE
//   blocked   a recv() waiting for the peer, and what it asked for
//
// The commands are the calls: send, recv (recvmsg on seqpacket, to see MSG_TRUNC),
// shutdown, close, poll, ioctl(FIONREAD), ioctl(TIOCOUTQ), SO_PEEK_OFF (set and read, on
// stream) and getsockopt(SO_ERROR), with their flags. Each
// command predicts its result from the state and changes the state as the kernel does; every
// prediction names its rule. The calls and predictions are written as a scripted case (see
// script/model_script.h): the interpreter runs it with real actor processes, a recv() the model
// says blocks must be seen blocked, and a failure is shrunk to a short script that
// `sockspec script` replays.
//
// Bounds: at most kMaxQueuedSends sends and kMaxQueuedBytes bytes wait at either end. Far
// below the default buffers, a send never waits and poll() always reports POLLOUT; how full
// a buffer must be before a send waits depends on the kernel's per-message overhead, which
// eagain_test.cc covers. For the same reason TIOCOUTQ is asked only when the peer has read
// everything (0): while bytes are unread it counts the kernel's buffers. Not modelled yet:
// MSG_OOB, and the send-buffer limit itself.
#include <sys/socket.h>

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

constexpr std::size_t kMaxQueuedSends = 12;
constexpr std::size_t kMaxQueuedBytes = 1024;

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
    "here, a lone empty record not counting (unix_release_sock)";
constexpr const char* kPoll =
    "poll: POLLIN if queued or RCV_SHUTDOWN, POLLRDHUP with RCV_SHUTDOWN, POLLHUP with both, "
    "POLLERR while an error is pending, POLLOUT while there is room (unix_poll)";
constexpr const char* kFionread = "FIONREAD: every unread byte queued (unix(7) SIOCINQ)";
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

// ---- The model --------------------------------------------------------------------------

enum class Route { kSocketpair, kPathname, kAbstract };

// How rapidcheck shows a route in a counterexample.
void showValue(Route route, std::ostream& os) {
  os << (route == Route::kSocketpair ? "socketpair"
         : route == Route::kPathname ? "pathname"
                                     : "abstract");
}

struct BlockedRecv {
  std::size_t length;
  int flags;
};

struct End {
  std::string actor;  // "a" or "b"
  std::string fd;     // its socket's variable in the script
  std::deque<std::string> queue;
  bool rcv_shut = false;
  bool snd_shut = false;
  int error = 0;
  int peek_off = -1;  // SO_PEEK_OFF (stream): where MSG_PEEK starts, -1 when off
  bool open = true;
  bool alive = true;
  std::optional<BlockedRecv> blocked;

  bool usable() const { return alive && open && !blocked; }
  bool present() const { return alive && open; }
  std::size_t queued_bytes() const {
    std::size_t n = 0;
    for (const auto& q : queue) n += q.size();
    return n;
  }
  // Where a stream read with `flags` starts: MSG_PEEK reads from SO_PEEK_OFF, when it is set.
  std::size_t skip(int flags) const {
    return (flags & MSG_PEEK) && peek_off > 0 ? static_cast<std::size_t>(peek_off) : 0;
  }
  // Whether a read with `flags` finds bytes (a stream peek: bytes past SO_PEEK_OFF).
  bool readable(bool stream, int flags) const {
    return stream ? queued_bytes() > skip(flags) : !queue.empty();
  }
};

struct ConnectionModel {
  int type = SOCK_STREAM;
  Route route = Route::kSocketpair;
  bool nonblocking = false;
  int serial = 0;  // tells apart the names of successive trials in one case dir
  std::array<End, 2> ends{End{"a", "s"}, End{"b", "t"}};

  bool stream() const { return type == SOCK_STREAM; }
};

// A planted mistake for the self-test (harness/tests/model-counterexample.test): the model
// predicts one byte too many for FIONREAD, so the run must fail and shrink to a script that
// fails the same way. Read from the environment only when the suite runs on its own.
bool planted_mistake() {
  return protocol::variable("SOCKSPEC_MODEL_MISTAKE") == "fionread";
}

// ---- What happens to the peer when an end goes away or shuts its writing --------------

// Wakes the peer's waiting recv() when nothing more can come (after a close or SHUT_WR).
void wake_at_end(End& reader, ModelLines& out) {
  if (!reader.blocked) return;
  reader.blocked.reset();
  if (reader.error != 0) {
    out.push_back(
        {reader.actor, "...", fmt::format("= -1 {}", errno_name(reader.error)), kWokenByReset});
    reader.error = 0;
  } else {
    out.push_back({reader.actor, "...", "= eof", kWokenByEof});
  }
}

// Whether closing an end with this queue resets the peer. Unread data does; but Linux (seen
// on 6.18) looks past an empty message at the head of the queue, as it would past a consumed
// MSG_OOB byte (unix_release_sock()), so a lone unread zero-length seqpacket record does not.
bool unread_data_resets(const End& closing) {
  if (closing.queue.empty()) return false;
  return !closing.queue.front().empty() || closing.queue.size() > 1;
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
}

// ---- Reading ----------------------------------------------------------------------------

struct ReadResult {
  std::string expected;
  const char* why;
};

// What a recv()/recvmsg() of `length` with `flags` gets from `self` when something is queued
// (and consumes it unless MSG_PEEK).
ReadResult take_queued(ConnectionModel& m, End& self, std::size_t length, int flags) {
  const bool peek = flags & MSG_PEEK;
  if (m.stream()) {
    std::string all;
    for (const auto& q : self.queue) all += q;
    const std::string got = all.substr(self.skip(flags), length);
    const int taken = static_cast<int>(got.size());
    if (peek) {
      if (self.peek_off >= 0) self.peek_off += taken;
    } else {
      std::string rest = all.substr(got.size());
      self.queue.clear();
      if (!rest.empty()) self.queue.push_back(std::move(rest));
      if (self.peek_off >= 0) self.peek_off = std::max(0, self.peek_off - taken);
    }
    return {fmt::format("= {}", quote_bytes(got)), self.peek_off >= 0      ? kPeekOff
                                                   : peek                  ? kPeekLeaves
                                                   : (flags & MSG_WAITALL) ? kWaitall
                                                                           : kStreamReads};
  }
  const std::string record = self.queue.front();
  if (!peek) self.queue.pop_front();
  const std::string got = record.substr(0, length);
  const bool cut = record.size() > length;
  const std::string msg_flags = cut ? "MSG_TRUNC" : "0";
  if (flags & MSG_TRUNC)
    return {fmt::format("= {} {} flags={}", record.size(), quote_bytes(got), msg_flags),
            kTruncGivesLength};
  return {fmt::format("= {}{} flags={}", got.empty() ? "0 " : "", quote_bytes(got), msg_flags),
          peek ? kPeekLeaves : kRecordReads};
}

// ---- Commands ---------------------------------------------------------------------------

class ModelCommand : public ScriptedCommand<ConnectionModel> {
 protected:
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
      : who_(pick_usable(m)),
        bytes_(*rc::gen::container<std::string>(*rc::gen::inRange<std::size_t>(0, 25),
                                                rc::gen::inRange('a', 'i'))),
        flags_(*rc::gen::element(0, int{MSG_NOSIGNAL}, int{MSG_DONTWAIT},
                                 MSG_NOSIGNAL | MSG_DONTWAIT)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    const End& self = m.ends[static_cast<std::size_t>(who_)];
    const End& peer = m.ends[static_cast<std::size_t>(1 - who_)];
    RC_PRE(self.usable());
    // Room, far from any limit; and an actor killed by SIGPIPE must leave the other end.
    RC_PRE(peer.queue.size() < kMaxQueuedSends &&
           peer.queued_bytes() + bytes_.size() <= kMaxQueuedBytes);
    const bool would_die = m.stream() && self.snd_shut && !(flags_ & MSG_NOSIGNAL);
    RC_PRE(!would_die || peer.present());
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = m.ends[static_cast<std::size_t>(who_)];
    End& peer = m.ends[static_cast<std::size_t>(1 - who_)];
    const std::string call =
        fmt::format("send({}, {}, {})", self.fd, quote_bytes(bytes_), msg_flags_name(flags_));
    if (!m.stream() && self.error != 0) {
      out.push_back(
          {self.actor, call, fmt::format("= -1 {}", errno_name(self.error)), kSeqpacketSendReset});
      self.error = 0;
      return;
    }
    if (self.snd_shut) {
      if (m.stream() && !(flags_ & MSG_NOSIGNAL)) {
        out.push_back({self.actor, call, "= killed by SIGPIPE", kSigpipe});
        self.alive = false;
        end_goes_away(m, who_, out);
        return;
      }
      out.push_back(
          {self.actor, call, "= -1 EPIPE", m.stream() ? kSendEpipe : kSeqpacketNoSigpipe});
      return;
    }
    out.push_back({self.actor, call, fmt::format("= {}", bytes_.size()), kSendQueues});
    // A zero-length send on a stream queues nothing; on seqpacket it is an empty record.
    if (m.stream() && bytes_.empty()) return;
    peer.queue.push_back(bytes_);
    if (peer.blocked) {
      const BlockedRecv waiting = *peer.blocked;
      peer.blocked.reset();
      const ReadResult r = take_queued(m, peer, waiting.length, waiting.flags);
      out.push_back({peer.actor, "...", r.expected, kWokenByData});
    }
  }
  std::string describe() const override {
    return fmt::format("{} sends {} ({})", who_ == 0 ? "a" : "b", quote_bytes(bytes_),
                       msg_flags_name(flags_));
  }

 private:
  int who_;
  std::string bytes_;
  int flags_;
};

class Recv : public ModelCommand {
 public:
  explicit Recv(const ConnectionModel& m)
      : who_(pick_usable(m)),
        length_(*rc::gen::inRange<std::size_t>(1, 33)),
        flags_(*rc::gen::element(0, int{MSG_DONTWAIT}, int{MSG_PEEK}, MSG_PEEK | MSG_DONTWAIT,
                                 int{MSG_WAITALL}, m.stream() ? 0 : int{MSG_TRUNC},
                                 m.stream() ? 0 : MSG_TRUNC | MSG_PEEK)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    const End& self = m.ends[static_cast<std::size_t>(who_)];
    const End& peer = m.ends[static_cast<std::size_t>(1 - who_)];
    RC_PRE(self.usable());
    const bool nothing = !self.readable(m.stream(), flags_) && self.error == 0 && !self.rcv_shut;
    const bool waits = nothing && !m.nonblocking && !(flags_ & MSG_DONTWAIT);
    // Only one actor waits at a time, and only for a peer that can still wake it; a peek
    // from SO_PEEK_OFF would go on waiting until the bytes pass the offset.
    RC_PRE(!waits || (peer.usable() && self.skip(flags_) == 0));
    // MSG_WAITALL on a stream waits for all of len: modelled only when len is queued.
    if (m.stream() && (flags_ & MSG_WAITALL))
      RC_PRE(self.queued_bytes() >= self.skip(flags_) + length_);
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = m.ends[static_cast<std::size_t>(who_)];
    const std::string call = fmt::format("{}({}, {}, {})", m.stream() ? "recv" : "recvmsg", self.fd,
                                         length_, msg_flags_name(flags_));
    if (!m.stream() && self.error != 0) {
      out.push_back(
          {self.actor, call, fmt::format("= -1 {}", errno_name(self.error)), kSeqpacketResetFirst});
      self.error = 0;
      return;
    }
    if (self.readable(m.stream(), flags_)) {
      const ReadResult r = take_queued(m, self, length_, flags_);
      out.push_back({self.actor, call, r.expected, r.why});
      return;
    }
    const bool past_offset = !self.queue.empty();  // a peek found bytes only before SO_PEEK_OFF
    if (self.error != 0) {
      out.push_back({self.actor, call, fmt::format("= -1 {}", errno_name(self.error)),
                     past_offset ? kPeekOffBeyond : kStreamResetAfterData});
      self.error = 0;
      return;
    }
    if (self.rcv_shut) {
      out.push_back({self.actor, call, "= eof", past_offset ? kPeekOffBeyond : kEof});
      return;
    }
    if (m.nonblocking || (flags_ & MSG_DONTWAIT)) {
      out.push_back({self.actor, call, "= -1 EAGAIN", past_offset ? kPeekOffBeyond : kEagain});
      return;
    }
    out.push_back({self.actor, call, "= ...", kBlocks});
    self.blocked = BlockedRecv{length_, flags_};
  }
  std::string describe() const override {
    return fmt::format("{} reads {} ({})", who_ == 0 ? "a" : "b", length_, msg_flags_name(flags_));
  }

 private:
  int who_;
  std::size_t length_;
  int flags_;
};

class Shutdown : public ModelCommand {
 public:
  explicit Shutdown(const ConnectionModel& m)
      : who_(pick_usable(m)), how_(*rc::gen::element(int{SHUT_RD}, int{SHUT_WR}, int{SHUT_RDWR})) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    RC_PRE(m.ends[static_cast<std::size_t>(who_)].usable());
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = m.ends[static_cast<std::size_t>(who_)];
    End& peer = m.ends[static_cast<std::size_t>(1 - who_)];
    out.push_back(
        {self.actor, fmt::format("shutdown({}, {})", self.fd, shutdown_name()), "= 0", kShutdown});
    const bool reading = how_ == SHUT_RD || how_ == SHUT_RDWR;
    const bool writing = how_ == SHUT_WR || how_ == SHUT_RDWR;
    if (reading) self.rcv_shut = true;
    if (writing) self.snd_shut = true;
    if (!peer.present()) return;
    if (reading) peer.snd_shut = true;
    if (writing) {
      peer.rcv_shut = true;
      wake_at_end(peer, out);
    }
  }
  std::string describe() const override {
    return fmt::format("{} shuts down {}", who_ == 0 ? "a" : "b", shutdown_name());
  }

 private:
  std::string shutdown_name() const {
    return how_ == SHUT_RD ? "SHUT_RD" : how_ == SHUT_WR ? "SHUT_WR" : "SHUT_RDWR";
  }
  int who_;
  int how_;
};

class Close : public ModelCommand {
 public:
  explicit Close(const ConnectionModel& m) : who_(pick_usable(m)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    RC_PRE(m.ends[static_cast<std::size_t>(who_)].usable());
    RC_PRE(m.ends[static_cast<std::size_t>(1 - who_)].present());  // someone is left to call
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    const End& self = m.ends[static_cast<std::size_t>(who_)];
    out.push_back({self.actor, fmt::format("close({})", self.fd), "= 0", kClose});
    end_goes_away(m, who_, out);
  }
  std::string describe() const override { return fmt::format("{} closes", who_ == 0 ? "a" : "b"); }

 private:
  int who_;
};

class Poll : public ModelCommand {
 public:
  explicit Poll(const ConnectionModel& m) : who_(pick_usable(m)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    RC_PRE(m.ends[static_cast<std::size_t>(who_)].usable());
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    const End& self = m.ends[static_cast<std::size_t>(who_)];
    std::vector<std::string> revents;
    if (!self.queue.empty() || self.rcv_shut) revents.push_back("POLLIN");
    revents.push_back("POLLOUT");
    if (self.error != 0) revents.push_back("POLLERR");
    if (self.rcv_shut && self.snd_shut) revents.push_back("POLLHUP");
    if (self.rcv_shut) revents.push_back("POLLRDHUP");
    out.push_back({self.actor, fmt::format("poll({}, POLLIN|POLLOUT|POLLRDHUP, 0)", self.fd),
                   fmt::format("= 1 revents={}", fmt::join(revents, "|")), kPoll});
  }
  std::string describe() const override { return fmt::format("{} polls", who_ == 0 ? "a" : "b"); }

 private:
  int who_;
};

class Fionread : public ModelCommand {
 public:
  explicit Fionread(const ConnectionModel& m) : who_(pick_usable(m)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    RC_PRE(m.ends[static_cast<std::size_t>(who_)].usable());
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    const End& self = m.ends[static_cast<std::size_t>(who_)];
    const std::size_t predicted = self.queued_bytes() + (planted_mistake() ? 1 : 0);
    out.push_back({self.actor, fmt::format("ioctl({}, FIONREAD)", self.fd),
                   fmt::format("= {}", predicted), kFionread});
  }
  std::string describe() const override {
    return fmt::format("{} asks FIONREAD", who_ == 0 ? "a" : "b");
  }

 private:
  int who_;
};

// TIOCOUTQ, asked only when the answer is a number of bytes: 0, all read.
class Outq : public ModelCommand {
 public:
  explicit Outq(const ConnectionModel& m) : who_(pick_usable(m)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    RC_PRE(m.ends[static_cast<std::size_t>(who_)].usable());
    RC_PRE(m.ends[static_cast<std::size_t>(1 - who_)].queue.empty());
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    const End& self = m.ends[static_cast<std::size_t>(who_)];
    out.push_back({self.actor, fmt::format("ioctl({}, TIOCOUTQ)", self.fd), "= 0", kOutqEmpty});
  }
  std::string describe() const override {
    return fmt::format("{} asks TIOCOUTQ", who_ == 0 ? "a" : "b");
  }

 private:
  int who_;
};

// SO_PEEK_OFF on a stream end: set it, or read it back.
class PeekOffset : public ModelCommand {
 public:
  explicit PeekOffset(const ConnectionModel& m)
      : who_(pick_usable(m)), set_(*rc::gen::arbitrary<bool>()), value_(*rc::gen::inRange(-1, 9)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    RC_PRE(m.stream());
    const End& self = m.ends[static_cast<std::size_t>(who_)];
    RC_PRE(self.usable());
    // The case language reads an option value of -1 as a failed call: read back only 0 and up.
    RC_PRE(set_ || self.peek_off >= 0);
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = m.ends[static_cast<std::size_t>(who_)];
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
    return set_ ? fmt::format("{} sets SO_PEEK_OFF to {}", who_ == 0 ? "a" : "b", value_)
                : fmt::format("{} reads SO_PEEK_OFF", who_ == 0 ? "a" : "b");
  }

 private:
  int who_;
  bool set_;
  int value_;
};

class SoError : public ModelCommand {
 public:
  explicit SoError(const ConnectionModel& m) : who_(pick_usable(m)) {}

  void checkPreconditions(const ConnectionModel& m) const override {
    RC_PRE(m.ends[static_cast<std::size_t>(who_)].usable());
  }

 protected:
  void perform(ConnectionModel& m, ModelLines& out) const override {
    End& self = m.ends[static_cast<std::size_t>(who_)];
    out.push_back({self.actor, fmt::format("getsockopt({}, SOL_SOCKET, SO_ERROR)", self.fd),
                   fmt::format("= {}", self.error == 0 ? "0" : errno_name(self.error)), kSoError});
    self.error = 0;
  }
  std::string describe() const override {
    return fmt::format("{} takes SO_ERROR", who_ == 0 ? "a" : "b");
  }

 private:
  int who_;
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
    return;
  }
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

class ConnectionModelTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Model, ConnectionModelTest, ::testing::Values(SOCK_STREAM, SOCK_SEQPACKET),
                         SocketTypeName());

SOCKSPEC_RULE(ConnectionModelTest, CallSequencesFollowTheModel,
              .text =
                  "any sequence of send, recv, shutdown, close, poll, FIONREAD, TIOCOUTQ, "
                  "SO_PEEK_OFF and SO_ERROR by "
                  "the two actors holding a connected stream or seqpacket pair gives, call by "
                  "call, what the model of the documented rules predicts (the model's state "
                  "and rules are in the file's header)",
              .citation =
                  "unix(7); send(2), recv(2), shutdown(2), close(2), poll(2), socket(7) "
                  "SO_ERROR; kernel: unix_stream_sendmsg(), unix_stream_read_generic(), "
                  "unix_seqpacket_sendmsg(), __unix_dgram_recvmsg(), unix_shutdown(), "
                  "unix_release_sock(), unix_poll(), unix_dgram_poll(), unix_inq_len()",
              .catalogue =
                  "ST-01, ST-02, ST-03, ST-04, ST-05, ST-06, SQ-02, SQ-03, SQ-04, SQ-05, SQ-07, "
                  "EP-01, EP-02, EP-04, EP-06, SH-01, SH-02, SH-03, NB-07, IO-01");
TEST_P(ConnectionModelTest, CallSequencesFollowTheModel) {
  const int type = GetParam();
  int serial = 0;
  check_property_in_time(
      [&] {
        if (property_time_is_up()) return;
        ConnectionModel model;
        model.type = type;
        model.route = *rc::gen::element(Route::kSocketpair, Route::kPathname, Route::kAbstract);
        model.nonblocking = *rc::gen::arbitrary<bool>();
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
                                              Poll, Fionread, Outq, PeekOffset, SoError>());
        // A read still waiting at the end is woken by its peer's close.
        for (int i = 0; i < 2; ++i)
          if (sut.latest.ends[static_cast<std::size_t>(i)].blocked) {
            ModelLines lines;
            const End& closer = sut.latest.ends[static_cast<std::size_t>(1 - i)];
            lines.push_back({closer.actor, fmt::format("close({})", closer.fd), "= 0", kClose});
            end_goes_away(sut.latest, 1 - i, lines);
            sut.add(lines);
          }
        check_model_script(sut.script, "ConnectionModel-" + socket_type_name(type));
      },
      here().deadline());
}

}  // namespace
}  // namespace sockspec
