// The control buffer of sendmsg() and recvmsg() itself: how the kernel reads the cmsgs a
// sender wrote (each cmsg_len must fit, SCM_RIGHTS arrays are joined, at most SCM_MAX_FD fds
// travel in one message, the whole buffer is bounded by net.core.optmem_max), and what
// happens when the memory behind msg_control is not there. __scm_send() in net/core/scm.c
// decides all of it for every socket type.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/control_message.h"
#include "case/expect.h"
#include "case/memory.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/fd.h"

namespace sockspec {
namespace {

constexpr int kScmMaxFd = 253;  // SCM_MAX_FD, include/net/scm.h; not in any libc header

// Whether two fds are the same socket (the same inode of sockfs).
bool same_socket(int a, int b) {
  struct stat first {
  }, second{};
  return ::fstat(a, &first) == 0 && ::fstat(b, &second) == 0 && first.st_dev == second.st_dev &&
         first.st_ino == second.st_ino;
}

std::size_t open_fd_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++count;
  return count;
}

// A connected pair of `type` to send over, and a stream pair whose ends are what travels.
class ControlMessageTest : public CaseTest, public ::testing::WithParamInterface<int> {
 protected:
  void SetUp() override {
    CaseTest::SetUp();
    const CallResult pair = must(call::socketpair(AF_UNIX, GetParam(), 0));
    sender_.reset(pair.fds[0]);
    receiver_.reset(pair.fds[1]);
    const CallResult cargo = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
    cargo_.reset(cargo.fds[0]);
    cargo_peer_.reset(cargo.fds[1]);
  }

  // Nothing waits on the receiving end: the refused sendmsg() sent nothing at all.
  void expect_nothing_sent() {
    EXPECT_THAT(call::recv(receiver_.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN));
  }

  Fd sender_, receiver_, cargo_, cargo_peer_;
};
INSTANTIATE_TEST_SUITE_P(Types, ControlMessageTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

SOCKSPEC_RULE(ControlMessageTest, CmsgLengthMustFitItsHeaderAndItsType,
              .text =
                  "sendmsg() fails with EINVAL, sending nothing, when a cmsg_len is shorter "
                  "than a cmsghdr (1), runs past msg_controllen, or is not exactly "
                  "CMSG_LEN(sizeof(struct ucred)) for SCM_CREDENTIALS (CMSG_LEN(0))",
              .citation =
                  "cmsg(3) (cmsg_len is CMSG_LEN of the data); unix(7) SCM_CREDENTIALS; "
                  "kernel: __scm_send() (CMSG_OK(): cmsg_len >= sizeof(struct cmsghdr) and "
                  "within msg_controllen; SCM_CREDENTIALS: cmsg_len != "
                  "CMSG_LEN(sizeof(struct ucred)) -> -EINVAL)",
              .catalogue = "AR-09, AC-10");
TEST_P(ControlMessageTest, CmsgLengthMustFitItsHeaderAndItsType) {
  ControlMessages too_short;
  too_short.header_only(SOL_SOCKET, SCM_RIGHTS, 1);
  EXPECT_THAT(sendmsg_with(sender_.get(), "x", 0, too_short), FailsWith(EINVAL));

  ControlMessages past_the_buffer;
  past_the_buffer.header_only(SOL_SOCKET, SCM_RIGHTS, CMSG_LEN(64), sizeof(int));
  EXPECT_THAT(sendmsg_with(sender_.get(), "x", 0, past_the_buffer), FailsWith(EINVAL));

  ControlMessages empty_credentials;
  empty_credentials.header_only(SOL_SOCKET, SCM_CREDENTIALS, CMSG_LEN(0), sizeof(ucred));
  EXPECT_THAT(sendmsg_with(sender_.get(), "x", 0, empty_credentials), FailsWith(EINVAL));
  expect_nothing_sent();
}

SOCKSPEC_RULE(ControlMessageTest, EmptyRightsArrayIsNoRights,
              .text =
                  "an SCM_RIGHTS cmsg with no fds (cmsg_len CMSG_LEN(0)) is accepted and "
                  "delivers nothing, alone or beside a real one, whose fd arrives as usual",
              .citation = "unix(7) SCM_RIGHTS; kernel: scm_fp_copy() (\"if (num <= 0) return 0\")",
              .catalogue = "AR-16");
TEST_P(ControlMessageTest, EmptyRightsArrayIsNoRights) {
  ControlMessages empty;
  empty.rights({});
  EXPECT_THAT(sendmsg_with(sender_.get(), "a", 0, empty), Returns(1));
  const ReceivedMessage alone = recvmsg_items(receiver_.get(), 1, MSG_DONTWAIT, 256);
  EXPECT_THAT(alone.result, Receives("a"));
  EXPECT_TRUE(alone.all(SOL_SOCKET, SCM_RIGHTS).empty())
      << "an empty SCM_RIGHTS array delivered " << alone.items.size() << " cmsg(s)";

  ControlMessages empty_then_one;
  empty_then_one.rights({}).rights({cargo_.get()});
  EXPECT_THAT(sendmsg_with(sender_.get(), "b", 0, empty_then_one), Returns(1));
  const ReceivedMessage beside = recvmsg_items(receiver_.get(), 1, MSG_DONTWAIT, 256);
  EXPECT_THAT(beside.result, Receives("b"));
  ASSERT_EQ(beside.result.fds.size(), 1u) << beside.result.describe();
  Fd arrived(beside.result.fds[0]);
  EXPECT_TRUE(same_socket(arrived.get(), cargo_.get()));
}

SOCKSPEC_RULE(ControlMessageTest, TwoRightsArraysArriveAsOne,
              .text =
                  "two SCM_RIGHTS cmsgs in one sendmsg() are joined: the receiver gets one "
                  "SCM_RIGHTS cmsg holding the fds of both, in the order they were written",
              .citation =
                  "unix(7) SCM_RIGHTS; kernel: scm_fp_copy() appends to the message's one "
                  "scm_fp_list",
              .linux_note =
                  "FreeBSD's tests expect one item of each type per message; Linux joins "
                  "the arrays (and refuses more than SCM_MAX_FD fds in all)",
              .catalogue = "AR-18");
TEST_P(ControlMessageTest, TwoRightsArraysArriveAsOne) {
  ControlMessages two;
  two.rights({cargo_.get()}).rights({cargo_peer_.get()});
  EXPECT_THAT(sendmsg_with(sender_.get(), "x", 0, two), Returns(1));
  const ReceivedMessage received = recvmsg_items(receiver_.get(), 1, MSG_DONTWAIT, 256);
  EXPECT_THAT(received.result, Receives("x"));
  std::vector<Fd> arrived;
  for (int fd : received.result.fds) arrived.emplace_back(fd);
  EXPECT_EQ(received.all(SOL_SOCKET, SCM_RIGHTS).size(), 1u) << "SCM_RIGHTS cmsgs received";
  ASSERT_EQ(arrived.size(), 2u) << received.result.describe();
  EXPECT_TRUE(same_socket(arrived[0].get(), cargo_.get())) << "first fd";
  EXPECT_TRUE(same_socket(arrived[1].get(), cargo_peer_.get())) << "second fd";
}

SOCKSPEC_RULE(ControlMessageTest, AtMostScmMaxFdFdsPerMessage,
              .text =
                  "one message carries at most SCM_MAX_FD (253) fds: 253 arrive, 254 fail "
                  "with EINVAL, also when split over two SCM_RIGHTS cmsgs",
              .citation =
                  "unix(7) SCM_RIGHTS (\"SCM_MAX_FD ... 253\", EINVAL); kernel: "
                  "scm_fp_copy() (fpl->count + num > fpl->max -> -EINVAL)",
              .linux_note = "SCM_MAX_FD is 253 since Linux 2.6.38 (255 before)",
              .catalogue = "AR-10");
TEST_P(ControlMessageTest, AtMostScmMaxFdFdsPerMessage) {
  const std::vector<int> most(kScmMaxFd, cargo_.get());
  ControlMessages allowed;
  allowed.rights(most);
  EXPECT_THAT(sendmsg_with(sender_.get(), "x", 0, allowed), Returns(1));
  const ReceivedMessage received =
      recvmsg_items(receiver_.get(), 1, MSG_DONTWAIT, CMSG_SPACE(sizeof(int) * kScmMaxFd));
  std::vector<Fd> arrived;
  for (int fd : received.result.fds) arrived.emplace_back(fd);
  EXPECT_THAT(received.result, Receives("x"));
  EXPECT_EQ(arrived.size(), static_cast<std::size_t>(kScmMaxFd));
  EXPECT_EQ(received.result.msg_flags & MSG_CTRUNC, 0) << "MSG_CTRUNC set";

  ControlMessages one_too_many;
  one_too_many.rights(std::vector<int>(kScmMaxFd + 1, cargo_.get()));
  EXPECT_THAT(sendmsg_with(sender_.get(), "x", 0, one_too_many), FailsWith(EINVAL));
  ControlMessages split;
  split.rights(std::vector<int>(200, cargo_.get())).rights(std::vector<int>(54, cargo_.get()));
  EXPECT_THAT(sendmsg_with(sender_.get(), "x", 0, split), FailsWith(EINVAL));
  expect_nothing_sent();
}

SOCKSPEC_RULE(ControlMessageTest, SendmsgReadsControlOnlyWhenItHasLength,
              .text =
                  "sendmsg() with msg_controllen 0 succeeds whatever msg_control points to; "
                  "with a length, a msg_control the process cannot read fails with EFAULT "
                  "and sends nothing",
              .citation =
                  "sendmsg(2) ERRORS EFAULT; kernel: ____sys_sendmsg() (copies msg_control "
                  "only when ctl_len > 0; copy_from_user() -> -EFAULT)",
              .catalogue = "AR-26");
TEST_P(ControlMessageTest, SendmsgReadsControlOnlyWhenItHasLength) {
  const GuardedPages pages;
  const auto send_with_control = [&](std::size_t length) {
    iovec iov{const_cast<char*>("x"), 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = pages.guard();
    msg.msg_controllen = length;
    return call::attempt(
        fmt::format("sendmsg({}, \"x\", 0, msg_control=<PROT_NONE page>, msg_controllen={})",
                    sender_.get(), length),
        [&] { return ::sendmsg(sender_.get(), &msg, 0); });
  };
  EXPECT_THAT(send_with_control(0), Returns(1));
  EXPECT_THAT(call::recv(receiver_.get(), 16, MSG_DONTWAIT), Receives("x"));
  EXPECT_THAT(send_with_control(CMSG_SPACE(sizeof(int))), FailsWith(EFAULT));
  expect_nothing_sent();
}

SOCKSPEC_RULE(ControlMessageTest, UnwritableControlBufferDropsTheFds,
              .text =
                  "recvmsg() into a msg_control the process cannot write returns the data with "
                  "MSG_CTRUNC; the fds that came with it are closed, none is left open in the "
                  "receiver",
              .citation =
                  "recvmsg(2) MSG_CTRUNC; unix(7) SCM_RIGHTS; kernel: scm_detach_fds() "
                  "(receive_fd() releases the new fd when put_user() fails; MSG_CTRUNC for "
                  "the fds not delivered)",
              .linux_note =
                  "Linux does not fail the call with EFAULT: the bytes are consumed and "
                  "returned, only the fds are lost (gVisor's tests expect EFAULT)",
              .catalogue = "AR-25");
TEST_P(ControlMessageTest, UnwritableControlBufferDropsTheFds) {
  ControlMessages one;
  one.rights({cargo_.get()});
  EXPECT_THAT(sendmsg_with(sender_.get(), "x", 0, one), Returns(1));
  cargo_.reset();  // the message now holds the only reference to this end
  const std::size_t fds_before = open_fd_count();

  const GuardedPages pages;
  char byte = 0;
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = pages.guard();
  msg.msg_controllen = CMSG_SPACE(sizeof(int));
  CallResult received = call::attempt(
      fmt::format("recvmsg({}, 1, MSG_DONTWAIT, msg_control=<PROT_NONE page>)", receiver_.get()),
      [&] { return ::recvmsg(receiver_.get(), &msg, MSG_DONTWAIT); });
  if (!received.failed()) received.data.assign(&byte, 1);
  EXPECT_THAT(received, Receives("x"));
  EXPECT_NE(msg.msg_flags & MSG_CTRUNC, 0) << "msg_flags " << msg_flags_name(msg.msg_flags);
  EXPECT_EQ(open_fd_count(), fds_before) << "fds open in the receiver after recvmsg()";
  // The end that travelled was closed with the message: its peer reads end of file.
  EXPECT_THAT(call::recv(cargo_peer_.get(), 1, MSG_DONTWAIT), ReturnsEof());
}

long optmem_max() {
  std::ifstream file("/proc/sys/net/core/optmem_max");
  long value = 0;
  if (!(file >> value))
    throw CaseError(
        fmt::format("cannot read /proc/sys/net/core/optmem_max: {}", std::strerror(errno)));
  return value;
}

SOCKSPEC_RULE(ControlMessageTest, ControlLongerThanOptmemMaxIsRefused,
              .text =
                  "a control buffer longer than net.core.optmem_max, or than INT_MAX, is "
                  "refused with ENOBUFS before any cmsg in it is read",
              .citation =
                  "socket(7) optmem_max (\"maximum length of ancillary data\"); kernel: "
                  "____sys_sendmsg() (ctl_len > INT_MAX -> -ENOBUFS; sock_kmalloc() fails "
                  "above optmem_max -> -ENOBUFS)",
              .catalogue = "AR-27");
TEST_P(ControlMessageTest, ControlLongerThanOptmemMaxIsRefused) {
  const long limit = optmem_max();
  ControlMessages too_long;
  too_long.rights({cargo_.get()}).pad_to(static_cast<std::size_t>(limit) + 1);
  EXPECT_THAT(sendmsg_with(sender_.get(), "x", 0, too_long), FailsWith(ENOBUFS))
      << "optmem_max is " << limit;

  ControlMessages one;
  one.rights({cargo_.get()});
  iovec iov{const_cast<char*>("x"), 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = one.data();
  msg.msg_controllen = static_cast<std::size_t>(INT_MAX) + 1;
  EXPECT_THAT(
      call::attempt(fmt::format("sendmsg({}, \"x\", 0, msg_controllen=INT_MAX+1)", sender_.get()),
                    [&] { return ::sendmsg(sender_.get(), &msg, 0); }),
      FailsWith(ENOBUFS));
  expect_nothing_sent();
}

}  // namespace
}  // namespace sockspec
