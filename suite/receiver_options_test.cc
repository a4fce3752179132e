// Options a receiving socket sets to change what arrives with its messages: SO_INQ adds the
// bytes still queued, SO_TIMESTAMP and SO_TIMESTAMPNS the time of arrival, SO_PASSPIDFD a
// pidfd for the sender, SO_PASSSEC the sender's security context; SO_PASSRIGHTS = 0 refuses
// fds altogether. Each is a flag of the receiving socket, read when a message is received
// (scm_recv_unix(), sock_recv_timestamp()) or, for SO_PASSRIGHTS, when a peer sends.
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "case/address.h"
#include "case/call.h"
#include "case/case.h"
#include "case/control_message.h"
#include "case/expect.h"
#include "case/linux_socket_options.h"
#include "case/process_identity.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/fd.h"
#include "os/names.h"

namespace sockspec {
namespace {

constexpr std::size_t kRoomForCmsgs = 256;

// ---- SO_INQ ------------------------------------------------------------------------------

class InqTest : public CaseTest {};

int siocinq(int fd) {
  int queued = -1;
  if (::ioctl(fd, SIOCINQ, &queued) != 0) return -1;
  return queued;
}

// The one SCM_INQ value a message brought, or -1 when it brought none.
int inq_of(const ReceivedMessage& received) {
  const auto items = received.all(SOL_SOCKET, SCM_INQ);
  if (items.size() != 1 || items[0].as<int>().size() != 1) return -1;
  return items[0].as<int>()[0];
}

SOCKSPEC_RULE(InqTest, StreamReadsCarryTheBytesStillQueued,
              .text =
                  "with SO_INQ set, every recvmsg() on a stream socket carries an SCM_INQ int: "
                  "the bytes still queued after it, the same number SIOCINQ gives (a "
                  "MSG_PEEK leaves it unchanged); 0 turns it off and values other than 0 "
                  "and 1 are EINVAL",
              .citation =
                  "unix(7) SO_INQ; kernel: unix_setsockopt() (stream sockets only), "
                  "unix_stream_read_generic() -> put_cmsg(SCM_INQ)",
              .linux_note =
                  "Linux 6.16; getsockopt(SO_INQ) is ENOPROTOOPT on 6.18, so only the cmsg "
                  "shows the setting",
              .catalogue = "AC-17");
TEST_F(InqTest, StreamReadsCarryTheBytesStillQueued) {
  SOCKSPEC_REQUIRES("so-inq");
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd writer(pair.fds[0]), reader(pair.fds[1]);
  EXPECT_THAT(call::setsockopt(reader.get(), SOL_SOCKET, SO_INQ, 1), Succeeds());
  EXPECT_THAT(call::setsockopt(reader.get(), SOL_SOCKET, SO_INQ, 2), FailsWith(EINVAL));
  EXPECT_THAT(call::send(writer.get(), "0123456789", 0), Returns(10));

  const ReceivedMessage first = recvmsg_items(reader.get(), 3, MSG_DONTWAIT, kRoomForCmsgs);
  EXPECT_THAT(first.result, Receives("012"));
  EXPECT_EQ(inq_of(first), 7) << "SCM_INQ after reading 3 of 10 bytes";
  EXPECT_EQ(siocinq(reader.get()), 7) << "SIOCINQ after reading 3 of 10 bytes";

  const ReceivedMessage peeked =
      recvmsg_items(reader.get(), 2, MSG_DONTWAIT | MSG_PEEK, kRoomForCmsgs);
  EXPECT_THAT(peeked.result, Receives("34"));
  EXPECT_EQ(inq_of(peeked), 7) << "SCM_INQ after a MSG_PEEK of 2 bytes";

  const ReceivedMessage rest = recvmsg_items(reader.get(), 16, MSG_DONTWAIT, kRoomForCmsgs);
  EXPECT_THAT(rest.result, Receives("3456789"));
  EXPECT_EQ(inq_of(rest), 0) << "SCM_INQ after reading everything";

  EXPECT_THAT(call::setsockopt(reader.get(), SOL_SOCKET, SO_INQ, 0), Succeeds());
  EXPECT_THAT(call::send(writer.get(), "ab", 0), Returns(2));
  const ReceivedMessage off = recvmsg_items(reader.get(), 1, MSG_DONTWAIT, kRoomForCmsgs);
  EXPECT_THAT(off.result, Receives("a"));
  EXPECT_TRUE(off.all(SOL_SOCKET, SCM_INQ).empty()) << "SCM_INQ after SO_INQ was set to 0";
}

class InqPacketTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Types, InqPacketTest, ::testing::Values(SOCK_DGRAM, SOCK_SEQPACKET),
                         SocketTypeName());

SOCKSPEC_RULE(InqPacketTest, NotAnOptionOfPacketSockets,
              .text =
                  "setsockopt(SO_INQ) on an AF_UNIX datagram or seqpacket socket fails "
                  "with ENOPROTOOPT",
              .citation =
                  "unix(7) SO_INQ (stream sockets); kernel: only unix_stream_ops "
                  "has unix_setsockopt(), so sock_setsockopt() answers the others",
              .linux_note = "Linux 6.16", .catalogue = "AC-17");
TEST_P(InqPacketTest, NotAnOptionOfPacketSockets) {
  SOCKSPEC_REQUIRES("so-inq");
  const CallResult pair = must(call::socketpair(AF_UNIX, GetParam(), 0));
  Fd a(pair.fds[0]), b(pair.fds[1]);
  EXPECT_THAT(call::setsockopt(b.get(), SOL_SOCKET, SO_INQ, 1), FailsWith(ENOPROTOOPT));
}

// ---- SO_PASSRIGHTS -------------------------------------------------------------------------

class PassRightsTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Types, PassRightsTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

SOCKSPEC_RULE(PassRightsTest, ReceiverThatRefusesFds,
              .text =
                  "SO_PASSRIGHTS is 1 by default; a receiver that sets it to 0 makes every "
                  "sendmsg() with SCM_RIGHTS to it fail with EPERM, sending nothing, while "
                  "messages without fds still pass; setting it back to 1 lets fds through",
              .citation =
                  "unix(7) SO_PASSRIGHTS (Linux 6.16); kernel: unix_dgram_sendmsg(), "
                  "unix_stream_sendmsg() (UNIXCB(skb).fp && !other->sk_scm_rights -> -EPERM)",
              .linux_note = "Linux 6.16", .catalogue = "AR-23");
TEST_P(PassRightsTest, ReceiverThatRefusesFds) {
  SOCKSPEC_REQUIRES("so-passrights");
  const CallResult pair = must(call::socketpair(AF_UNIX, GetParam(), 0));
  Fd sender(pair.fds[0]), receiver(pair.fds[1]);
  const CallResult cargo = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd cargo_a(cargo.fds[0]), cargo_b(cargo.fds[1]);

  EXPECT_THAT(call::getsockopt(receiver.get(), SOL_SOCKET, SO_PASSRIGHTS), Returns(1));
  EXPECT_THAT(call::setsockopt(receiver.get(), SOL_SOCKET, SO_PASSRIGHTS, 0), Succeeds());
  EXPECT_THAT(call::getsockopt(receiver.get(), SOL_SOCKET, SO_PASSRIGHTS), Returns(0));
  EXPECT_THAT(call::sendmsg(sender.get(), "fd", 0, {cargo_a.get()}, false), FailsWith(EPERM));
  EXPECT_THAT(call::send(sender.get(), "plain", 0), Returns(5));
  EXPECT_THAT(call::recvmsg_with_control(receiver.get(), 16, MSG_DONTWAIT), Receives("plain"));
  EXPECT_THAT(call::recv(receiver.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));

  EXPECT_THAT(call::setsockopt(receiver.get(), SOL_SOCKET, SO_PASSRIGHTS, 1), Succeeds());
  EXPECT_THAT(call::sendmsg(sender.get(), "fd", 0, {cargo_a.get()}, false), Returns(2));
  const CallResult received = call::recvmsg_with_control(receiver.get(), 16, MSG_DONTWAIT);
  EXPECT_THAT(received, Receives("fd"));
  EXPECT_EQ(received.fds.size(), 1u) << received.describe();
  for (int fd : received.fds) ::close(fd);
}

// ---- SO_TIMESTAMP, SO_TIMESTAMPNS ----------------------------------------------------------

class TimestampTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Types, TimestampTest, ::testing::Values(SOCK_DGRAM, SOCK_SEQPACKET),
                         SocketTypeName());

std::int64_t nanoseconds(const timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

timespec realtime_now() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return now;
}

SOCKSPEC_RULE(TimestampTest, DatagramsCarryTheirTimeOfArrival,
              .text =
                  "with SO_TIMESTAMP set, each datagram arrives with an SCM_TIMESTAMP struct "
                  "timeval, with SO_TIMESTAMPNS an SCM_TIMESTAMPNS struct timespec, of the "
                  "CLOCK_REALTIME time between the send and the receive",
              .citation =
                  "socket(7) SO_TIMESTAMP, SO_TIMESTAMPNS; kernel: __unix_dgram_recvmsg() -> "
                  "sock_recv_timestamp() (stamped on receipt when the skb has no time)",
              .catalogue = "OP-17");
TEST_P(TimestampTest, DatagramsCarryTheirTimeOfArrival) {
  const CallResult pair = must(call::socketpair(AF_UNIX, GetParam(), 0));
  Fd sender(pair.fds[0]), receiver(pair.fds[1]);

  EXPECT_THAT(call::setsockopt(receiver.get(), SOL_SOCKET, SO_TIMESTAMP, 1), Succeeds());
  const timespec before_us = realtime_now();
  EXPECT_THAT(call::send(sender.get(), "tv", 0), Returns(2));
  const ReceivedMessage with_tv = recvmsg_items(receiver.get(), 16, MSG_DONTWAIT, kRoomForCmsgs);
  const timespec after_us = realtime_now();
  EXPECT_THAT(with_tv.result, Receives("tv"));
  const auto tv_items = with_tv.all(SOL_SOCKET, SCM_TIMESTAMP);
  ASSERT_EQ(tv_items.size(), 1u) << "SCM_TIMESTAMP cmsgs with SO_TIMESTAMP set";
  const auto tv = tv_items[0].as<timeval>();
  ASSERT_EQ(tv.size(), 1u) << "SCM_TIMESTAMP payload of " << tv_items[0].data.size() << " bytes";
  const std::int64_t stamp_us = tv[0].tv_sec * 1'000'000LL + tv[0].tv_usec;
  EXPECT_GE(stamp_us, nanoseconds(before_us) / 1000) << "SCM_TIMESTAMP before the send";
  EXPECT_LE(stamp_us, nanoseconds(after_us) / 1000) << "SCM_TIMESTAMP after the receive";

  EXPECT_THAT(call::setsockopt(receiver.get(), SOL_SOCKET, SO_TIMESTAMP, 0), Succeeds());
  EXPECT_THAT(call::setsockopt(receiver.get(), SOL_SOCKET, SO_TIMESTAMPNS, 1), Succeeds());
  const timespec before_ns = realtime_now();
  EXPECT_THAT(call::send(sender.get(), "ts", 0), Returns(2));
  const ReceivedMessage with_ts = recvmsg_items(receiver.get(), 16, MSG_DONTWAIT, kRoomForCmsgs);
  const timespec after_ns = realtime_now();
  EXPECT_THAT(with_ts.result, Receives("ts"));
  EXPECT_TRUE(with_ts.all(SOL_SOCKET, SCM_TIMESTAMP).empty()) << "SCM_TIMESTAMP after it was off";
  const auto ts_items = with_ts.all(SOL_SOCKET, SCM_TIMESTAMPNS);
  ASSERT_EQ(ts_items.size(), 1u) << "SCM_TIMESTAMPNS cmsgs with SO_TIMESTAMPNS set";
  const auto ts = ts_items[0].as<timespec>();
  ASSERT_EQ(ts.size(), 1u) << "SCM_TIMESTAMPNS payload of " << ts_items[0].data.size() << " bytes";
  EXPECT_GE(nanoseconds(ts[0]), nanoseconds(before_ns)) << "SCM_TIMESTAMPNS before the send";
  EXPECT_LE(nanoseconds(ts[0]), nanoseconds(after_ns)) << "SCM_TIMESTAMPNS after the receive";
}

// ---- SO_PASSPIDFD ---------------------------------------------------------------------------

struct PidfdRoute {
  int type;
  bool abstract;
};
// GoogleTest would print the struct's bytes, padding and all.
void PrintTo(const PidfdRoute& route, std::ostream* os) {
  *os << socket_type_name(route.type) << (route.abstract ? " abstract" : " pathname");
}

class PassPidfdTest : public CaseTest, public ::testing::WithParamInterface<PidfdRoute> {};
INSTANTIATE_TEST_SUITE_P(Routes, PassPidfdTest,
                         ::testing::Values(PidfdRoute{SOCK_STREAM, false},
                                           PidfdRoute{SOCK_STREAM, true},
                                           PidfdRoute{SOCK_DGRAM, false},
                                           PidfdRoute{SOCK_DGRAM, true}),
                         [](const auto& route) {
                           return socket_type_name(route.param.type) +
                                  (route.param.abstract ? "_abstract" : "_pathname");
                         });

SOCKSPEC_RULE(PassPidfdTest, MessageCarriesAPidfdOfItsSender,
              .text =
                  "with SO_PASSPIDFD set on the receiving socket, a message from another "
                  "process arrives with an SCM_PIDFD cmsg: a new pidfd referring to the "
                  "process that sent it",
              .citation =
                  "unix(7) SO_PASSPIDFD, SCM_PIDFD; pidfd_open(2); kernel: scm_recv_unix() "
                  "-> scm_pidfd_recv()",
              .linux_note = "Linux 6.5", .catalogue = "AC-15");
TEST_P(PassPidfdTest, MessageCarriesAPidfdOfItsSender) {
  SOCKSPEC_REQUIRES("so-passpidfd");
  const auto [type, abstract] = GetParam();
  const UnixAddress address = abstract ? UnixAddress::abstract(here().abstract_name("pidfd"))
                                       : UnixAddress::pathname(here().path_name("pidfd"));
  Fd server = open_socket(type);
  must(call::bind(server.get(), address));
  if (type == SOCK_STREAM) must(call::listen(server.get(), 1));

  // The option must be set before the message is sent: the sender's pid goes with the
  // message only when the receiver asks for it at that moment (unix_maybe_add_creds()).
  Peer& sender = here().fork_peer("sender", [&](PeerSelf& self) {
    server.reset();
    Fd fd = open_socket(type);
    ASSERT_THAT(call::connect(fd.get(), address), Succeeds());
    self.notify("connected");
    self.await("send");
    ASSERT_THAT(call::send(fd.get(), "hi", 0), Returns(2));
    self.notify("sent");
    self.await("checked");  // alive until the pidfd has been looked at
  });
  sender.await("connected");  // an accept() before it would wait for ever for a failed connect
  Fd receiver = type == SOCK_STREAM ? Fd(static_cast<int>(must(call::accept(server.get())).value))
                                    : std::move(server);
  EXPECT_THAT(call::setsockopt(receiver.get(), SOL_SOCKET, SO_PASSPIDFD, 1), Succeeds());
  sender.tell("send");
  sender.await("sent");  // a recvmsg() before it would wait for ever for a failed send
  const ReceivedMessage received = recvmsg_items(receiver.get(), 16, 0, kRoomForCmsgs);
  const auto items = received.all(SOL_SOCKET, SCM_PIDFD);
  std::vector<Fd> pidfds;
  for (const ControlItem& item : items)
    for (int fd : item.as<int>()) pidfds.emplace_back(fd);
  const long pid_seen = pidfds.size() == 1 ? pid_of_pidfd(pidfds[0].get()) : -1;
  sender.tell("checked");
  sender.expect_clean_exit();
  EXPECT_THAT(received.result, Receives("hi"));
  EXPECT_EQ(items.size(), 1u) << "SCM_PIDFD cmsgs with SO_PASSPIDFD set";
  EXPECT_EQ(pid_seen, sender.pid()) << "the pid the SCM_PIDFD pidfd refers to";
}

// ---- SO_PASSSEC -----------------------------------------------------------------------------

class PassSecTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Types, PassSecTest, ::testing::ValuesIn(kSocketTypes), SocketTypeName());

SOCKSPEC_RULE(PassSecTest, MessageCarriesTheSendersContext,
              .text =
                  "with SO_PASSSEC set (getsockopt then says 1), a message arrives with an "
                  "SCM_SECURITY cmsg holding the sender's security context, as the LSM "
                  "writes it in /proc/PID/attr/current",
              .citation =
                  "unix(7) SO_PASSSEC, SCM_SECURITY; kernel: scm_passec() -> "
                  "security_secid_to_secctx()",
              .catalogue = "AC-16");
TEST_P(PassSecTest, MessageCarriesTheSendersContext) {
  SOCKSPEC_REQUIRES("security-contexts");
  const CallResult pair = must(call::socketpair(AF_UNIX, GetParam(), 0));
  Fd sender(pair.fds[0]), receiver(pair.fds[1]);
  EXPECT_THAT(call::setsockopt(receiver.get(), SOL_SOCKET, SO_PASSSEC, 1), Succeeds());
  EXPECT_THAT(call::getsockopt(receiver.get(), SOL_SOCKET, SO_PASSSEC), Returns(1));
  EXPECT_THAT(call::send(sender.get(), "x", 0), Returns(1));
  const ReceivedMessage received = recvmsg_items(receiver.get(), 1, MSG_DONTWAIT, kRoomForCmsgs);
  const auto items = received.all(SOL_SOCKET, SCM_SECURITY);
  ASSERT_EQ(items.size(), 1u) << "SCM_SECURITY cmsgs with SO_PASSSEC set";
  std::string context = items[0].data;
  while (!context.empty() && context.back() == '\0') context.pop_back();
  EXPECT_EQ(context, own_security_context());
}

SOCKSPEC_RULE(PassSecTest, NoContextWithoutAnLsm,
              .text =
                  "without an LSM that gives contexts, SO_PASSSEC is still accepted (getsockopt "
                  "says 1) and messages arrive with no SCM_SECURITY cmsg",
              .citation =
                  "unix(7) SO_PASSSEC; kernel: sk_setsockopt() SO_PASSSEC is a plain flag; "
                  "scm_passec() adds the cmsg only when security_secid_to_secctx() succeeds",
              .catalogue = "AC-16");
TEST_P(PassSecTest, NoContextWithoutAnLsm) {
  SOCKSPEC_REQUIRES("no-security-contexts");
  const CallResult pair = must(call::socketpair(AF_UNIX, GetParam(), 0));
  Fd sender(pair.fds[0]), receiver(pair.fds[1]);
  EXPECT_THAT(call::getsockopt(receiver.get(), SOL_SOCKET, SO_PASSSEC), Returns(0));
  EXPECT_THAT(call::setsockopt(receiver.get(), SOL_SOCKET, SO_PASSSEC, 1), Succeeds());
  EXPECT_THAT(call::getsockopt(receiver.get(), SOL_SOCKET, SO_PASSSEC), Returns(1));
  EXPECT_THAT(call::send(sender.get(), "x", 0), Returns(1));
  const ReceivedMessage received = recvmsg_items(receiver.get(), 1, MSG_DONTWAIT, kRoomForCmsgs);
  EXPECT_THAT(received.result, Receives("x"));
  EXPECT_TRUE(received.all(SOL_SOCKET, SCM_SECURITY).empty())
      << "an SCM_SECURITY cmsg arrived where no LSM gives contexts";
}

}  // namespace
}  // namespace sockspec
