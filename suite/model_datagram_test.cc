// Model/DatagramModelTest: random call sequences among three named SOCK_DGRAM sockets, each
// held by its own actor process, checked call by call against a reference model written from
// the documented rules.
//
// The three sockets are bound to pathnames or to abstract names (one test each), blocking or
// with O_NONBLOCK (rapidcheck picks). The model's state, for each socket:
//
//   queue    the datagrams waiting to be read, each with the name of the socket that sent it
//   peer     the socket connect() made its default destination, if any (it may have closed
//            since: the sender learns it at its next send)
//   error    the pending socket error: ECONNRESET when a socket connected to it dissolved
//            its association while datagrams were queued for it
//   open     the actor has not closed its socket
//
// and one limit: a socket's queue holds net.unix.max_dgram_qlen + 1 datagrams from senders it
// is not connected back to (read from /proc at the start); after that they get EAGAIN. A
// socket sending to itself is not held to it.
//
// The commands: sendto (any of the three names, the sender's own too), send (to the peer),
// connect, connect(AF_UNSPEC), recvmsg (with the sender's name and MSG_TRUNC), close, poll,
// ioctl(FIONREAD) and getsockopt(SO_ERROR). A call that would wait (a full queue, nothing to
// read) is generated only with MSG_DONTWAIT or O_NONBLOCK: a datagram socket has no end of
// file, so a waiting read could only be ended by a send the model would have to invent;
// Model/ConnectionModelTest covers waiting. Like it, the calls and predictions are written
// as a scripted case (script/model_script.h) and run by real actors.
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <deque>
#include <fstream>
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
#include "os/names.h"
#include "os/quote.h"
#include "script/model_command.h"
#include "script/model_script.h"

namespace sockspec {
namespace {

constexpr int kSockets = 3;
constexpr std::size_t kMaxQueued = 24;  // when a receiver is connected back: no qlen limit

// ---- The rules, as the model applies them ---------------------------------------------------

constexpr const char* kDelivered =
    "a datagram to a live socket that may hear the sender is queued whole (unix(7))";
constexpr const char* kNoDestination = "send() without an address needs a peer: ENOTCONN (send(2))";
constexpr const char* kPendingErrorOnSend =
    "a pending error is reported by the next send, once, before anything else is checked "
    "(unix_dgram_sendmsg -> sock_alloc_send_pskb)";
constexpr const char* kNobodyThere =
    "no live socket bound to the name: ECONNREFUSED (unix(7) ERRORS, unix_find_other)";
constexpr const char* kDeadPeer =
    "the peer closed: ECONNREFUSED once, the association dissolved, this socket's queue dropped "
    "(unix_dgram_sendmsg, unix_dgram_disconnected)";
constexpr const char* kConnectedElsewhere =
    "a socket connected to another hears only that one: EPERM (unix(7), unix_may_send)";
constexpr const char* kQueueFull =
    "the receiver's queue holds max_dgram_qlen + 1 datagrams from others: EAGAIN "
    "(unix_recvq_full)";
constexpr const char* kConnect = "connect() sets the default destination (connect(2), unix(7))";
constexpr const char* kReconnect =
    "connecting elsewhere, or to AF_UNSPEC, drops the queue; the old peer, if connected back, "
    "gets ECONNRESET (unix_dgram_disconnected)";
constexpr const char* kRecv =
    "one datagram per read, cut to len (MSG_TRUNC in msg_flags), with the sender's name "
    "(recvmsg(2), unix(7))";
constexpr const char* kTruncLength = "MSG_TRUNC in flags returns the datagram's real length";
constexpr const char* kPeek = "MSG_PEEK leaves the datagram queued";
constexpr const char* kRecvError = "a pending error comes before any datagram, once";
constexpr const char* kEmpty = "nothing queued: EAGAIN, never end of file (unix(7))";
constexpr const char* kClose = "close() frees the name's socket; its queue goes with it";
constexpr const char* kPoll =
    "poll: POLLIN if queued, POLLERR while an error is pending, POLLOUT unless the peer's "
    "queue is full and the peer is not connected back (unix_dgram_poll)";
constexpr const char* kFionread = "FIONREAD: the size of the next datagram (unix(7) SIOCINQ)";
constexpr const char* kSoError = "SO_ERROR returns the pending error and clears it (socket(7))";

// ---- The model ----------------------------------------------------------------------------

struct Datagram {
  int from;
  std::string bytes;
};

struct DatagramSocket {
  std::string actor;
  std::deque<Datagram> queue;
  std::optional<int> peer;
  int error = 0;
  bool open = true;
};

struct DatagramModel {
  bool abstract = false;
  bool nonblocking = false;
  int serial = 0;
  std::size_t max_dgram_qlen = 10;
  std::array<DatagramSocket, kSockets> sockets{DatagramSocket{"a"}, DatagramSocket{"b"},
                                               DatagramSocket{"c"}};

  DatagramSocket& at(int i) { return sockets[static_cast<std::size_t>(i)]; }
  const DatagramSocket& at(int i) const { return sockets[static_cast<std::size_t>(i)]; }
  std::string name(int i) const {
    return fmt::format("{}\"d{}-{}\"", abstract ? "@" : "", serial, at(i).actor);
  }
  // Whether `to` takes one more datagram from `from`. The queue limit skips a receiver
  // connected back to its sender, and a socket sending to itself (unix_dgram_sendmsg():
  // "other != sk && unix_peer(other) != sk && unix_recvq_full()").
  bool limited(int from, int to) const { return from != to && at(to).peer != from; }
  bool full(int from, int to) const {
    return limited(from, to) && at(to).queue.size() > max_dgram_qlen;
  }
  // Where the kernel sets no limit, the model keeps the queue short itself.
  bool room_for(int from, int to, std::size_t count) const {
    return limited(from, to) || at(to).queue.size() + count <= kMaxQueued;
  }
};

std::string failure(int err) {
  return fmt::format("= -1 {}", errno_name(err));
}

// unix_dgram_disconnected(): `self` stops being associated with `old_peer`.
void dissolve(DatagramModel& m, int self, int old_peer) {
  DatagramSocket& s = m.at(self);
  if (s.queue.empty()) return;
  s.queue.clear();
  DatagramSocket& old = m.at(old_peer);
  if (old.open && old.peer == self) old.error = ECONNRESET;
}

// sendto() to `to`, or send() to the peer when `to` is empty: the checks in the order
// unix_dgram_sendmsg() makes them on 6.18.
void send_one(DatagramModel& m, int from, std::optional<int> to, const std::string& bytes,
              int flags, ModelLines& out) {
  DatagramSocket& self = m.at(from);
  const std::string call =
      to ? fmt::format("sendto(s, {}, {}, {})", quote_bytes(bytes), msg_flags_name(flags),
                       m.name(*to))
         : fmt::format("send(s, {}, {})", quote_bytes(bytes), msg_flags_name(flags));
  // The buffer is allocated first, and the allocation reports a pending error (Linux 6.18;
  // older kernels looked for the peer first).
  if (self.error != 0) {
    out.push_back({self.actor, call, failure(self.error), kPendingErrorOnSend});
    self.error = 0;
    return;
  }
  if (!to && !self.peer) {
    out.push_back({self.actor, call, failure(ENOTCONN), kNoDestination});
    return;
  }
  const int target = to ? *to : *self.peer;
  DatagramSocket& receiver = m.at(target);
  if (!receiver.open) {
    if (to) {
      out.push_back({self.actor, call, failure(ECONNREFUSED), kNobodyThere});
    } else {
      out.push_back({self.actor, call, failure(ECONNREFUSED), kDeadPeer});
      self.peer.reset();
      dissolve(m, from, target);
    }
    return;
  }
  if (receiver.peer && *receiver.peer != from) {
    out.push_back({self.actor, call, failure(EPERM), kConnectedElsewhere});
    return;
  }
  if (m.full(from, target)) {
    out.push_back({self.actor, call, failure(EAGAIN), kQueueFull});
    return;
  }
  out.push_back({self.actor, call, fmt::format("= {}", bytes.size()), kDelivered});
  receiver.queue.push_back({from, bytes});
}

// ---- Commands -------------------------------------------------------------------------

class ModelCommand : public ScriptedCommand<DatagramModel> {
 protected:
  static int pick_open(const DatagramModel& m) {
    std::vector<int> open;
    for (int i = 0; i < kSockets; ++i)
      if (m.at(i).open) open.push_back(i);
    return open.empty() ? 0 : *rc::gen::elementOf(open);
  }
  // One of the sockets, or none (send() to the peer, connect() to AF_UNSPEC): one time in four.
  static std::optional<int> socket_or_none() {
    // (gen::element, not gen::inRange: inRange narrows its range at small sizes.)
    const int pick = *rc::gen::element(-1, 0, 1, 2);
    static_assert(kSockets == 3, "the list above names each socket");
    return pick < 0 ? std::nullopt : std::optional<int>(pick);
  }
};

// sendto() to a name, or send() to the peer (to == nullopt).
class Send : public ModelCommand {
 public:
  explicit Send(const DatagramModel& m)
      : from_(pick_open(m)),
        to_(socket_or_none()),
        bytes_(*rc::gen::container<std::string>(*rc::gen::inRange<std::size_t>(0, 13),
                                                rc::gen::inRange('a', 'i'))),
        flags_(*rc::gen::element(0, int{MSG_DONTWAIT})) {}

  void checkPreconditions(const DatagramModel& m) const override {
    RC_PRE(m.at(from_).open);
    // A full queue would make a blocking send wait: generated only where it cannot.
    const std::optional<int> target = to_ ? to_ : m.at(from_).peer;
    if (target && m.at(*target).open) {
      RC_PRE(m.room_for(from_, *target, 1));
      if (!m.nonblocking && !(flags_ & MSG_DONTWAIT)) RC_PRE(!m.full(from_, *target));
    }
  }

 protected:
  void perform(DatagramModel& m, ModelLines& out) const override {
    send_one(m, from_, to_, bytes_, flags_, out);
  }
  std::string describe() const override {
    return fmt::format("socket {} sends {} to {} ({})", from_, quote_bytes(bytes_),
                       to_ ? std::to_string(*to_) : "its peer", msg_flags_name(flags_));
  }

 private:
  int from_;
  std::optional<int> to_;
  std::string bytes_;
  int flags_;
};

// Several datagrams in a row from one socket to another, enough to fill a queue: numbered,
// so that a reader sees which ones arrived.
class Burst : public ModelCommand {
 public:
  explicit Burst(const DatagramModel& m)
      : from_(pick_open(m)),
        to_(*rc::gen::element(0, 1, 2)),
        count_(*rc::gen::inRange(2, 15)),
        flags_(m.nonblocking ? 0 : int{MSG_DONTWAIT}) {}

  void checkPreconditions(const DatagramModel& m) const override {
    RC_PRE(m.at(from_).open);
    RC_PRE(m.nonblocking || (flags_ & MSG_DONTWAIT));  // a full queue must not make it wait
    RC_PRE(m.room_for(from_, to_, static_cast<std::size_t>(count_)));
  }

 protected:
  void perform(DatagramModel& m, ModelLines& out) const override {
    for (int i = 1; i <= count_; ++i) send_one(m, from_, to_, std::to_string(i), flags_, out);
  }
  std::string describe() const override {
    return fmt::format("socket {} sends {} datagrams to {} ({})", from_, count_, to_,
                       msg_flags_name(flags_));
  }

 private:
  int from_;
  int to_;
  int count_;
  int flags_;
};

// connect() to a name, or to AF_UNSPEC (to == nullopt): dissolves the association.
class Connect : public ModelCommand {
 public:
  explicit Connect(const DatagramModel& m) : who_(pick_open(m)), to_(socket_or_none()) {}

  void checkPreconditions(const DatagramModel& m) const override { RC_PRE(m.at(who_).open); }

 protected:
  void perform(DatagramModel& m, ModelLines& out) const override {
    DatagramSocket& self = m.at(who_);
    const std::string call = fmt::format("connect(s, {})", to_ ? m.name(*to_) : "AF_UNSPEC");
    if (to_ && !m.at(*to_).open) {
      out.push_back({self.actor, call, failure(ECONNREFUSED), kNobodyThere});
      return;
    }
    if (to_ && m.at(*to_).peer && *m.at(*to_).peer != who_) {
      out.push_back({self.actor, call, failure(EPERM), kConnectedElsewhere});
      return;
    }
    const std::optional<int> old = self.peer;
    self.peer = to_;
    out.push_back({self.actor, call, "= 0", old && old != to_ ? kReconnect : kConnect});
    if (old && old != to_) dissolve(m, who_, *old);
  }
  std::string describe() const override {
    return fmt::format("socket {} connects to {}", who_, to_ ? std::to_string(*to_) : "AF_UNSPEC");
  }

 private:
  int who_;
  std::optional<int> to_;
};

class Recv : public ModelCommand {
 public:
  explicit Recv(const DatagramModel& m)
      : who_(pick_open(m)),
        length_(*rc::gen::inRange<std::size_t>(0, 16)),
        flags_(*rc::gen::element(0, int{MSG_DONTWAIT}, MSG_PEEK | MSG_DONTWAIT,
                                 MSG_TRUNC | MSG_DONTWAIT, int{MSG_PEEK})) {}

  void checkPreconditions(const DatagramModel& m) const override {
    const DatagramSocket& self = m.at(who_);
    RC_PRE(self.open);
    const bool nothing = self.queue.empty() && self.error == 0;
    RC_PRE(!nothing || m.nonblocking || (flags_ & MSG_DONTWAIT));
  }

 protected:
  void perform(DatagramModel& m, ModelLines& out) const override {
    DatagramSocket& self = m.at(who_);
    const std::string call = fmt::format("recvmsg(s, {}, {})", length_, msg_flags_name(flags_));
    if (self.error != 0) {
      out.push_back({self.actor, call, failure(self.error), kRecvError});
      self.error = 0;
      return;
    }
    if (self.queue.empty()) {
      out.push_back({self.actor, call, failure(EAGAIN), kEmpty});
      return;
    }
    const Datagram d = self.queue.front();
    if (!(flags_ & MSG_PEEK)) self.queue.pop_front();
    const std::string got = d.bytes.substr(0, length_);
    const std::string msg_flags = d.bytes.size() > length_ ? "MSG_TRUNC" : "0";
    const std::string from = fmt::format("from={}", m.name(d.from));
    if (flags_ & MSG_TRUNC) {
      out.push_back(
          {self.actor, call,
           fmt::format("= {} {} {} flags={}", d.bytes.size(), quote_bytes(got), from, msg_flags),
           kTruncLength});
      return;
    }
    out.push_back({self.actor, call,
                   fmt::format("= {}{} {} flags={}", got.empty() ? "0 " : "", quote_bytes(got),
                               from, msg_flags),
                   (flags_ & MSG_PEEK) ? kPeek : kRecv});
  }
  std::string describe() const override {
    return fmt::format("socket {} reads {} ({})", who_, length_, msg_flags_name(flags_));
  }

 private:
  int who_;
  std::size_t length_;
  int flags_;
};

class Close : public ModelCommand {
 public:
  explicit Close(const DatagramModel& m) : who_(pick_open(m)) {}

  void checkPreconditions(const DatagramModel& m) const override {
    RC_PRE(m.at(who_).open);
    int open = 0;
    for (const auto& s : m.sockets) open += s.open ? 1 : 0;
    RC_PRE(open > 1);  // someone is left to make calls
  }

 protected:
  void perform(DatagramModel& m, ModelLines& out) const override {
    DatagramSocket& self = m.at(who_);
    out.push_back({self.actor, "close(s)", "= 0", kClose});
    self.open = false;
    self.queue.clear();
    self.peer.reset();
  }
  std::string describe() const override { return fmt::format("socket {} closes", who_); }

 private:
  int who_;
};

class Poll : public ModelCommand {
 public:
  explicit Poll(const DatagramModel& m) : who_(pick_open(m)) {}
  void checkPreconditions(const DatagramModel& m) const override { RC_PRE(m.at(who_).open); }

 protected:
  void perform(DatagramModel& m, ModelLines& out) const override {
    const DatagramSocket& self = m.at(who_);
    std::vector<std::string> revents;
    if (!self.queue.empty()) revents.push_back("POLLIN");
    const bool held_back = self.peer && m.at(*self.peer).open && m.at(*self.peer).peer != who_ &&
                           m.at(*self.peer).queue.size() > m.max_dgram_qlen;
    if (!held_back) revents.push_back("POLLOUT");
    if (self.error != 0) revents.push_back("POLLERR");
    out.push_back({self.actor, "poll(s, POLLIN|POLLOUT, 0)",
                   revents.empty() ? "= 0" : fmt::format("= 1 revents={}", fmt::join(revents, "|")),
                   kPoll});
  }
  std::string describe() const override { return fmt::format("socket {} polls", who_); }

 private:
  int who_;
};

class Fionread : public ModelCommand {
 public:
  explicit Fionread(const DatagramModel& m) : who_(pick_open(m)) {}
  void checkPreconditions(const DatagramModel& m) const override { RC_PRE(m.at(who_).open); }

 protected:
  void perform(DatagramModel& m, ModelLines& out) const override {
    const DatagramSocket& self = m.at(who_);
    const std::size_t next = self.queue.empty() ? 0 : self.queue.front().bytes.size();
    out.push_back({self.actor, "ioctl(s, FIONREAD)", fmt::format("= {}", next), kFionread});
  }
  std::string describe() const override { return fmt::format("socket {} asks FIONREAD", who_); }

 private:
  int who_;
};

class SoError : public ModelCommand {
 public:
  explicit SoError(const DatagramModel& m) : who_(pick_open(m)) {}
  void checkPreconditions(const DatagramModel& m) const override { RC_PRE(m.at(who_).open); }

 protected:
  void perform(DatagramModel& m, ModelLines& out) const override {
    DatagramSocket& self = m.at(who_);
    out.push_back({self.actor, "getsockopt(s, SOL_SOCKET, SO_ERROR)",
                   fmt::format("= {}", self.error == 0 ? "0" : errno_name(self.error)), kSoError});
    self.error = 0;
  }
  std::string describe() const override { return fmt::format("socket {} takes SO_ERROR", who_); }

 private:
  int who_;
};

// ---- Set-up and the property ------------------------------------------------------------

// The queue limit, as the target's /proc says; Linux's default where it has no such file
// (gVisor), with a note in the case's record, since then the default is what is checked.
std::size_t read_max_dgram_qlen() {
  std::ifstream file("/proc/sys/net/unix/max_dgram_qlen");
  std::size_t value = 0;
  if (file >> value) return value;
  ::testing::Test::RecordProperty("max_dgram_qlen",
                                  "unreadable here: the model uses Linux's default, 10");
  return 10;
}

// The names are pathnames or abstract: each a test of its own, so that a counterexample
// file says which.
class DatagramModelTest : public CaseTest, public ::testing::WithParamInterface<bool> {};
INSTANTIATE_TEST_SUITE_P(Model, DatagramModelTest, ::testing::Bool(), [](const auto& abstract) {
  return abstract.param ? std::string("abstract") : "pathname";
});

SOCKSPEC_RULE(DatagramModelTest, CallSequencesFollowTheModel,
              .text =
                  "any sequence of sendto, send, connect, connect(AF_UNSPEC), recvmsg, close, "
                  "poll, FIONREAD and SO_ERROR by three actors, each holding a named datagram "
                  "socket, gives, call by call, what the model of the documented rules "
                  "predicts (the model's state and rules are in the file's header)",
              .citation =
                  "unix(7); sendto(2), connect(2), recvmsg(2), poll(2), socket(7) SO_ERROR; "
                  "kernel: unix_dgram_sendmsg(), unix_dgram_connect(), "
                  "unix_dgram_disconnected(), __unix_dgram_recvmsg(), unix_dgram_poll(), "
                  "unix_inq_len()",
              .catalogue =
                  "DG-01, DG-02, DG-03, DG-04, DG-06, DG-07, DG-08, DG-10, DG-11, DG-12, "
                  "DG-13, DG-14, DG-15, DG-16, DG-17, DG-19, IO-02");
TEST_P(DatagramModelTest, CallSequencesFollowTheModel) {
  const std::size_t qlen = read_max_dgram_qlen();
  int serial = 0;
  check_property_in_time(
      [&] {
        if (property_time_is_up()) return;
        DatagramModel model;
        model.abstract = GetParam();
        model.nonblocking = *rc::gen::arbitrary<bool>();
        model.serial = ++serial;
        model.max_dgram_qlen = qlen;
        ScriptUnderConstruction<DatagramModel> sut{
            ModelScript(
                "A random exchange among three named datagram sockets follows the model of "
                "suite/model_datagram_test.cc.",
                "unix(7); sendto(2), connect(2), recvmsg(2), poll(2); the rules on each line"),
            model};
        const std::string type = model.nonblocking ? "SOCK_DGRAM|SOCK_NONBLOCK" : "SOCK_DGRAM";
        for (int i = 0; i < kSockets; ++i) {
          sut.script.add(model.at(i).actor, fmt::format("s = socket(AF_UNIX, {}, 0)", type));
          sut.script.add(model.at(i).actor, fmt::format("bind(s, {})", model.name(i)), "= 0");
        }
        rc::state::check(
            model, sut,
            rc::state::gen::execOneOfWithArgs<Send, Send, Send, Burst, Connect, Connect, Recv, Recv,
                                              Recv, Close, Poll, Fionread, SoError>());
        check_model_script(sut.script,
                           std::string("DatagramModel-") + (GetParam() ? "abstract" : "pathname"));
      },
      here().deadline());
}

}  // namespace
}  // namespace sockspec
