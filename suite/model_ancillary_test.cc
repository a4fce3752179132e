// Model/AncillaryModelTest: random sequences of messages carrying fds (SCM_RIGHTS) and
// credentials (SCM_CREDENTIALS) over a SOCK_DGRAM or SOCK_SEQPACKET socketpair, actor a
// sending, actor b receiving, checked call by call against a reference model.
//
// What travels is three "cargo" sockets: a holds one end c1, c2, c3 of three stream pairs and
// keeps the other ends d1, d2, d3 to watch them: a cargo end is gone, and its d end reads end of
// file, exactly when its last reference is closed. The model's state:
//
//   messages   the messages queued for b, each with its bytes, the cargo it carries, and
//              whether the sender's credentials were recorded with it
//   held       how many references each cargo end has: a's own fd, one per queued message
//              that carries it, one per fd b received and has not closed
//   passcred   SO_PASSCRED on a's and on b's socket
//   b_open     b has not closed its socket (then its queue, and every fd in it, is dropped)
//
// Rules (unix(7) "Ancillary messages", SCM_RIGHTS, SCM_CREDENTIALS, SO_PASSCRED;
// recvmsg(2) MSG_CTRUNC): fds arrive as new fds in the receiver with their message; those that
// do not fit the control buffer are closed and MSG_CTRUNC is set; a message dropped unread
// closes what it carries. Credentials are recorded with a message when it is sent with
// SCM_CREDENTIALS, or when the sender or the receiver has SO_PASSCRED at that moment
// (unix_maybe_add_creds()); b sees them only if it has SO_PASSCRED when it reads, and sees
// pid 0 and the overflow ids for a message that recorded none. Every read uses MSG_DONTWAIT:
// the connection model covers waiting.
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include "case/case.h"
#include "case/property.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/names.h"
#include "os/quote.h"
#include "script/model_command.h"
#include "script/model_script.h"

namespace sockspec {
namespace {

constexpr int kCargo = 3;
constexpr std::size_t kMaxQueued = 8;
constexpr unsigned kOverflowId = 65534;  // /proc/sys/kernel/overflowuid and overflowgid

// ---- The rules ------------------------------------------------------------------------------

constexpr const char* kSent = "a message with fds and credentials is sent whole (unix(7))";
constexpr const char* kAllArrive =
    "each fd arrives as a new fd of the receiver, with its message (unix(7) SCM_RIGHTS)";
constexpr const char* kTruncated =
    "fds that do not fit the control buffer are closed, and MSG_CTRUNC is set (recvmsg(2))";
constexpr const char* kCredentials =
    "SO_PASSCRED at the read: the credentials recorded at the send, or pid 0 and the overflow "
    "ids when none were (unix(7), unix_maybe_add_creds)";
constexpr const char* kNothingQueued = "nothing queued: EAGAIN (recv(2))";
constexpr const char* kPasscred = "SO_PASSCRED is a flag of each socket (unix(7))";
constexpr const char* kCloseCopy = "closing one fd of a file closes the file only with its last";
constexpr const char* kEofWhenGone =
    "the peer of a cargo end reads end of file once every reference to it is closed";
constexpr const char* kStillHeld = "a cargo end still referenced somewhere: nothing to read";
constexpr const char* kReceiverGone =
    "closing b drops its queue and closes every fd in flight in it (unix_release_sock)";
constexpr const char* kDgramPeerGone =
    "datagram: the connected peer closed: ECONNREFUSED once, then ENOTCONN (unix_dgram_sendmsg)";
constexpr const char* kSeqpacketPeerGone = "seqpacket: the peer closed: EPIPE, no SIGPIPE";
constexpr const char* kSeqpacketReset =
    "seqpacket: the peer closed with messages unread: ECONNRESET once (unix_release_sock)";

// ---- The model ------------------------------------------------------------------------------

struct Message {
  std::string bytes;
  std::vector<int> cargo;  // cargo numbers, in the order of the SCM_RIGHTS array
  bool credentials_recorded = false;
};

struct AncillaryModel {
  int type = SOCK_DGRAM;
  std::deque<Message> messages;
  std::array<bool, kCargo> a_holds{true, true, true};
  std::array<int, kCargo> b_holds{};               // fds b received and has not closed
  std::vector<std::pair<std::string, int>> b_fds;  // b's received fds: variable, cargo
  bool a_passcred = false;
  bool b_passcred = false;
  bool b_open = true;
  bool dgram_peer_refused = false;  // a's send learnt that b is gone (then ENOTCONN)
  bool a_reset_pending = false;     // seqpacket: b closed with messages unread
  int next_fd_name = 1;
  unsigned uid = 0, gid = 0;

  int references(int cargo) const {
    int n = (a_holds[static_cast<std::size_t>(cargo)] ? 1 : 0) +
            b_holds[static_cast<std::size_t>(cargo)];
    for (const Message& m : messages)
      for (int c : m.cargo) n += c == cargo ? 1 : 0;
    return n;
  }
};

std::string cargo_name(int c) {
  return fmt::format("c{}", c + 1);
}
class ModelCommand : public ScriptedCommand<AncillaryModel> {};

// ---- a's commands -----------------------------------------------------------------------------

class SendMessage : public ModelCommand {
 public:
  explicit SendMessage(const AncillaryModel&)
      : bytes_(fmt::format("m{}", *rc::gen::inRange(1, 100))),
        cargo_(*rc::gen::container<std::vector<int>>(*rc::gen::inRange<std::size_t>(0, 3),
                                                     rc::gen::inRange(0, kCargo))),
        credentials_(*rc::gen::arbitrary<bool>()),
        after_close_(*rc::gen::weightedElement<bool>({{1, true}, {3, false}})) {}

  void checkPreconditions(const AncillaryModel& m) const override {
    RC_PRE(m.messages.size() < kMaxQueued);
    RC_PRE(m.b_open || after_close_);  // once b is gone, a few sends show what it gives
    for (int c : cargo_) RC_PRE(m.a_holds[static_cast<std::size_t>(c)]);
  }

 protected:
  void perform(AncillaryModel& m, ModelLines& out) const override {
    std::string call = fmt::format("sendmsg(s, {}, 0", quote_bytes(bytes_));
    if (!cargo_.empty()) {
      std::vector<std::string> names;
      for (int c : cargo_) names.push_back(cargo_name(c));
      call += fmt::format(", SCM_RIGHTS({})", fmt::join(names, ", "));
    }
    if (credentials_) call += ", SCM_CREDENTIALS";
    call += ")";
    if (!m.b_open) {
      if (m.type == SOCK_SEQPACKET && m.a_reset_pending) {
        out.push_back({"a", call, "= -1 ECONNRESET", kSeqpacketReset});
        m.a_reset_pending = false;
      } else if (m.type == SOCK_SEQPACKET) {
        out.push_back({"a", call, "= -1 EPIPE", kSeqpacketPeerGone});
      } else {
        out.push_back({"a", call, m.dgram_peer_refused ? "= -1 ENOTCONN" : "= -1 ECONNREFUSED",
                       kDgramPeerGone});
        m.dgram_peer_refused = true;
      }
      return;
    }
    out.push_back({"a", call, fmt::format("= {}", bytes_.size()), kSent});
    m.messages.push_back({bytes_, cargo_, credentials_ || m.a_passcred || m.b_passcred});
  }
  std::string describe() const override {
    return fmt::format("a sends {} with cargo {}{}", quote_bytes(bytes_), cargo_,
                       credentials_ ? " and credentials" : "");
  }

 private:
  std::string bytes_;
  std::vector<int> cargo_;
  bool credentials_;
  bool after_close_;
};

class CloseCargo : public ModelCommand {
 public:
  explicit CloseCargo(const AncillaryModel&) : cargo_(*rc::gen::inRange(0, kCargo)) {}
  void checkPreconditions(const AncillaryModel& m) const override {
    RC_PRE(m.a_holds[static_cast<std::size_t>(cargo_)]);
  }

 protected:
  void perform(AncillaryModel& m, ModelLines& out) const override {
    out.push_back({"a", fmt::format("close({})", cargo_name(cargo_)), "= 0", kCloseCopy});
    m.a_holds[static_cast<std::size_t>(cargo_)] = false;
  }
  std::string describe() const override { return fmt::format("a closes c{}", cargo_ + 1); }

 private:
  int cargo_;
};

// a reads the other end of a cargo pair: end of file once the cargo end is gone.
class Watch : public ModelCommand {
 public:
  explicit Watch(const AncillaryModel&) : cargo_(*rc::gen::inRange(0, kCargo)) {}

 protected:
  void perform(AncillaryModel& m, ModelLines& out) const override {
    const bool gone = m.references(cargo_) == 0;
    out.push_back({"a", fmt::format("recv(d{}, 1, MSG_DONTWAIT)", cargo_ + 1),
                   gone ? "= eof" : "= -1 EAGAIN", gone ? kEofWhenGone : kStillHeld});
  }
  std::string describe() const override { return fmt::format("a watches d{}", cargo_ + 1); }

 private:
  int cargo_;
};

class SetPasscred : public ModelCommand {
 public:
  explicit SetPasscred(const AncillaryModel&)
      : on_b_(*rc::gen::arbitrary<bool>()), value_(*rc::gen::arbitrary<bool>()) {}
  void checkPreconditions(const AncillaryModel& m) const override { RC_PRE(!on_b_ || m.b_open); }

 protected:
  void perform(AncillaryModel& m, ModelLines& out) const override {
    out.push_back({on_b_ ? "b" : "a",
                   fmt::format("setsockopt({}, SOL_SOCKET, SO_PASSCRED, {})", on_b_ ? "t" : "s",
                               value_ ? 1 : 0),
                   "= 0", kPasscred});
    (on_b_ ? m.b_passcred : m.a_passcred) = value_;
  }
  std::string describe() const override {
    return fmt::format("{} sets SO_PASSCRED to {}", on_b_ ? "b" : "a", value_);
  }

 private:
  bool on_b_;
  bool value_;
};

// ---- b's commands -----------------------------------------------------------------------------

// recvmsg with room for every fd (and the credentials), for one fd, or for nothing.
enum class Room { kAll, kOneFd, kNone };

class Receive : public ModelCommand {
 public:
  explicit Receive(const AncillaryModel&)
      : room_(*rc::gen::element(Room::kAll, Room::kAll, Room::kOneFd, Room::kNone)) {}
  void checkPreconditions(const AncillaryModel& m) const override {
    RC_PRE(m.b_open);
    // Credentials take their room first; the small buffers are for fds alone.
    RC_PRE(room_ == Room::kAll || !m.b_passcred);
  }

 protected:
  void perform(AncillaryModel& m, ModelLines& out) const override {
    const std::string room = room_ == Room::kAll     ? ""
                             : room_ == Room::kOneFd ? fmt::format(", {}", CMSG_LEN(sizeof(int)))
                                                     : ", 0";
    const std::string call = fmt::format("recvmsg(t, 16, MSG_DONTWAIT{})", room);
    if (m.messages.empty()) {
      out.push_back({"b", call, "= -1 EAGAIN", kNothingQueued});
      return;
    }
    const Message message = m.messages.front();
    m.messages.pop_front();
    const std::size_t fits = room_ == Room::kAll ? message.cargo.size()
                             : room_ == Room::kOneFd
                                 ? std::min<std::size_t>(1, message.cargo.size())
                                 : 0;
    std::string expected = fmt::format("= {}", quote_bytes(message.bytes));
    std::vector<std::string> names;
    for (std::size_t i = 0; i < fits; ++i) {
      const std::string name = fmt::format("r{}", m.next_fd_name++);
      names.push_back(name);
      m.b_fds.push_back({name, message.cargo[i]});
      ++m.b_holds[static_cast<std::size_t>(message.cargo[i])];
    }
    if (!names.empty()) expected += fmt::format(" SCM_RIGHTS({})", fmt::join(names, ", "));
    if (m.b_passcred)
      expected += message.credentials_recorded
                      ? fmt::format(" SCM_CREDENTIALS(pid=a, uid={}, gid={})", m.uid, m.gid)
                      : fmt::format(" SCM_CREDENTIALS(uid={}, gid={})", kOverflowId, kOverflowId);
    const bool cut = fits < message.cargo.size();
    expected += cut ? " flags=MSG_CTRUNC" : " flags=0";
    out.push_back(
        {"b", call, expected, cut ? kTruncated : (m.b_passcred ? kCredentials : kAllArrive)});
  }
  std::string describe() const override {
    return fmt::format("b receives with room for {}", room_ == Room::kAll     ? "everything"
                                                      : room_ == Room::kOneFd ? "one fd"
                                                                              : "nothing");
  }

 private:
  Room room_;
};

class CloseReceived : public ModelCommand {
 public:
  explicit CloseReceived(const AncillaryModel&) : pick_(*rc::gen::inRange(0, 64)) {}
  void checkPreconditions(const AncillaryModel& m) const override { RC_PRE(!m.b_fds.empty()); }

 protected:
  void perform(AncillaryModel& m, ModelLines& out) const override {
    const std::size_t i = static_cast<std::size_t>(pick_) % m.b_fds.size();
    const auto [name, cargo] = m.b_fds[i];
    out.push_back({"b", fmt::format("close({})", name), "= 0", kCloseCopy});
    m.b_fds.erase(m.b_fds.begin() + static_cast<std::ptrdiff_t>(i));
    --m.b_holds[static_cast<std::size_t>(cargo)];
  }
  std::string describe() const override { return "b closes one fd it received"; }

 private:
  int pick_;
};

class CloseReceiver : public ModelCommand {
 public:
  // Drawn rarely, so that most sequences have time to pass fds before b goes.
  explicit CloseReceiver(const AncillaryModel&)
      : now_(*rc::gen::weightedElement<bool>({{1, true}, {3, false}})) {}
  void checkPreconditions(const AncillaryModel& m) const override { RC_PRE(m.b_open && now_); }

 protected:
  void perform(AncillaryModel& m, ModelLines& out) const override {
    out.push_back({"b", "close(t)", "= 0", kReceiverGone});
    if (m.type == SOCK_SEQPACKET && !m.messages.empty()) m.a_reset_pending = true;
    m.b_open = false;
    m.b_passcred = false;
    m.messages.clear();
  }
  std::string describe() const override { return "b closes its socket"; }

 private:
  bool now_;
};

// ---- The property ---------------------------------------------------------------------------

class AncillaryModelTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Model, AncillaryModelTest, ::testing::Values(SOCK_DGRAM, SOCK_SEQPACKET),
                         SocketTypeName());

SOCKSPEC_RULE(AncillaryModelTest, FdsAndCredentialsFollowTheModel,
              .text =
                  "any sequence of messages with SCM_RIGHTS and SCM_CREDENTIALS, reads with "
                  "room for all, one or no fd, SO_PASSCRED changes on either end and closes "
                  "of the fds and sockets involved gives, call by call, what the model "
                  "predicts, and every fd sent is closed exactly when its last reference is "
                  "(the model's state and rules are in the file's header)",
              .citation =
                  "unix(7) \"Ancillary messages\", SCM_RIGHTS, SCM_CREDENTIALS, SO_PASSCRED; "
                  "recvmsg(2) MSG_CTRUNC; cmsg(3); kernel: scm_detach_fds(), "
                  "unix_maybe_add_creds(), scm_recv_unix(), unix_release_sock()",
              .catalogue = "AR-01, AR-02, AR-03, AR-04, AR-05, AC-01, AC-02, AC-03, AC-04, AC-05");
TEST_P(AncillaryModelTest, FdsAndCredentialsFollowTheModel) {
  const int type = GetParam();
  check_property_in_time(
      [&] {
        if (property_time_is_up()) return;
        AncillaryModel model;
        model.type = type;
        model.uid = ::getuid();
        model.gid = ::getgid();
        ScriptUnderConstruction<AncillaryModel> sut{
            ModelScript(fmt::format("Fds and credentials in flight over a {} socketpair follow "
                                    "the model of suite/model_ancillary_test.cc.",
                                    type == SOCK_DGRAM ? "SOCK_DGRAM" : "SOCK_SEQPACKET"),
                        "unix(7) \"Ancillary messages\"; recvmsg(2); the rules on each line"),
            model};
        ModelScript& script = sut.script;
        script.add("a", fmt::format("s, t = socketpair(AF_UNIX, {}, 0)",
                                    type == SOCK_DGRAM ? "SOCK_DGRAM" : "SOCK_SEQPACKET"));
        for (int c = 0; c < kCargo; ++c)
          script.add("a", fmt::format("c{0}, d{0} = socketpair(AF_UNIX, SOCK_STREAM, 0)", c + 1));
        script.add("a", "fork b");
        script.add("a", "close(t)", "= 0");
        script.add("b", "close(s)", "= 0");
        for (int c = 0; c < kCargo; ++c) {
          script.add("b", fmt::format("close(c{})", c + 1), "= 0");
          script.add("b", fmt::format("close(d{})", c + 1), "= 0");
        }
        rc::state::check(
            model, sut,
            rc::state::gen::execOneOfWithArgs<SendMessage, SendMessage, SendMessage, CloseCargo,
                                              Watch, Watch, SetPasscred, Receive, Receive, Receive,
                                              CloseReceived, CloseReceiver>());
        check_model_script(script, "AncillaryModel-" + socket_type_name(type));
      },
      here().deadline());
}

}  // namespace
}  // namespace sockspec
