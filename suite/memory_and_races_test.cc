// Where the bytes of a message come from and go to, and what happens when a socket is closed
// or renamed under a call in another thread. A message may be gathered from, and scattered
// to, as many separate pieces of memory as an iovec array holds (UIO_MAXIOV, 1024); memory
// the kernel cannot read is EFAULT even when the process has it mapped; and calls racing
// close(), bind() and unlink() must each end with a result a single-threaded program could
// have seen, never a crash or a hang.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/memory.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/case_error.h"
#include "os/fd.h"
#include "os/names.h"

namespace sockspec {
namespace {

// UIO_MAXIOV pieces of `piece` bytes, one at the start of every other page of `memory`: no
// two pieces adjacent, as in memory that has been allocated and freed many times over.
std::vector<iovec> scattered_pieces(const Mapping& memory, std::size_t piece) {
  std::vector<iovec> pieces(UIO_MAXIOV);
  for (std::size_t i = 0; i < pieces.size(); ++i)
    pieces[i] = {memory.at(2 * i * page_size()), piece};
  return pieces;
}

class PacketIoTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Types, PacketIoTest, ::testing::Values(SOCK_DGRAM, SOCK_SEQPACKET),
                         SocketTypeName());

SOCKSPEC_RULE(PacketIoTest, MessageGatheredFromUioMaxiovPieces,
              .text =
                  "one sendmsg() gathers a message from UIO_MAXIOV (1024) pieces of memory "
                  "that are not adjacent, and one recvmsg() scatters it into 1024 other "
                  "pieces, byte for byte; an iovec array one longer fails with EMSGSIZE",
              .citation =
                  "sendmsg(2), recvmsg(2) (msg_iov, msg_iovlen); writev(2) EINVAL/"
                  "\"UIO_MAXIOV\"; kernel: import_iovec() (-EMSGSIZE above UIO_MAXIOV "
                  "for a msghdr), unix_dgram_sendmsg() -> memcpy_from_msg()",
              .linux_note =
                  "writev(2) gives EINVAL above IOV_MAX; sendmsg()'s msghdr path "
                  "gives EMSGSIZE",
              .catalogue = "IC-05");
TEST_P(PacketIoTest, MessageGatheredFromUioMaxiovPieces) {
  constexpr std::size_t kPiece = 64;  // 64 KiB in all: within the default send buffer
  const CallResult pair = must(call::socketpair(AF_UNIX, GetParam(), 0));
  Fd sender(pair.fds[0]);
  Fd receiver(pair.fds[1]);
  const Mapping out(2 * UIO_MAXIOV * page_size());
  const Mapping in(2 * UIO_MAXIOV * page_size());
  std::vector<iovec> gather = scattered_pieces(out, kPiece);
  std::vector<iovec> scatter = scattered_pieces(in, kPiece);
  std::string sent;
  for (std::size_t i = 0; i < gather.size(); ++i)
    for (std::size_t b = 0; b < kPiece; ++b) {
      const char c = static_cast<char>('A' + (i * 7 + b) % 26);
      static_cast<char*>(gather[i].iov_base)[b] = c;
      sent += c;
    }

  msghdr message{};
  message.msg_iov = gather.data();
  message.msg_iovlen = gather.size();
  EXPECT_THAT(
      call::attempt(fmt::format("sendmsg({}, {{1024 iovecs of {}}}, 0)", sender.get(), kPiece),
                    [&] { return ::sendmsg(sender.get(), &message, 0); }),
      Returns(static_cast<long>(UIO_MAXIOV * kPiece)));
  msghdr reception{};
  reception.msg_iov = scatter.data();
  reception.msg_iovlen = scatter.size();
  EXPECT_THAT(
      call::attempt(fmt::format("recvmsg({}, {{1024 iovecs of {}}}, 0)", receiver.get(), kPiece),
                    [&] { return ::recvmsg(receiver.get(), &reception, MSG_DONTWAIT); }),
      Returns(static_cast<long>(UIO_MAXIOV * kPiece)));
  std::string received;
  for (const iovec& piece : scatter) received.append(static_cast<char*>(piece.iov_base), kPiece);
  EXPECT_TRUE(received == sent) << "the bytes were not scattered back in the order they were "
                                   "gathered";

  std::vector<iovec> one_too_many(UIO_MAXIOV + 1, iovec{out.at(0), 1});
  msghdr too_long{};
  too_long.msg_iov = one_too_many.data();
  too_long.msg_iovlen = one_too_many.size();
  EXPECT_THAT(call::attempt(fmt::format("sendmsg({}, {{1025 iovecs}}, 0)", sender.get()),
                            [&] { return ::sendmsg(sender.get(), &too_long, MSG_DONTWAIT); }),
              FailsWith(EMSGSIZE));
  EXPECT_THAT(call::recv(receiver.get(), 16, MSG_DONTWAIT), FailsWith(EAGAIN))
      << "the refused sendmsg() queued something";
}

// A datagram socket's message must fit the sender's send buffer (unix_dgram_sendmsg():
// len > sk_sndbuf - 32 is EMSGSIZE); one page less than the receive buffer, at the default
// sizes (both net.core.wmem_default), fits, and arrives whole in one recv().
SOCKSPEC_RULE(PacketIoTest, MessageOfReceiveBufferLessAPageArrivesWhole,
              .text =
                  "a message of SO_RCVBUF minus one page is sent in one call and received "
                  "whole by one recv() with a larger buffer",
              .citation =
                  "unix(7) SO_SNDBUF (datagram size limit); recv(2); kernel: "
                  "unix_dgram_sendmsg() (sock_alloc_send_pskb() with paged data for "
                  "large messages), __unix_dgram_recvmsg()",
              .catalogue = "IC-05");
TEST_P(PacketIoTest, MessageOfReceiveBufferLessAPageArrivesWhole) {
  const CallResult pair = must(call::socketpair(AF_UNIX, GetParam(), 0));
  Fd sender(pair.fds[0]);
  Fd receiver(pair.fds[1]);
  const long receive_buffer = must(call::getsockopt(receiver.get(), SOL_SOCKET, SO_RCVBUF)).value;
  const std::string message(static_cast<std::size_t>(receive_buffer) - page_size(), 'm');
  EXPECT_THAT(call::send(sender.get(), message, MSG_DONTWAIT),
              Returns(static_cast<long>(message.size())));
  const CallResult got =
      call::recv(receiver.get(), 3 * static_cast<std::size_t>(receive_buffer), MSG_DONTWAIT);
  EXPECT_THAT(got, Returns(static_cast<long>(message.size())));
  EXPECT_TRUE(got.data == message) << "the message did not arrive whole";
}

class MappedMemoryTest : public CaseTest {};

// A MAP_SHARED mapping may reach past the end of its file: the process has the page mapped,
// but touching it is SIGBUS. The kernel's copy from it fails instead, and send() says EFAULT.
SOCKSPEC_RULE(MappedMemoryTest, SendFromSharedPageBeyondEofGivesEfault,
              .text =
                  "send() from a MAP_SHARED page that lies past the end of its file fails "
                  "with EFAULT and sends nothing",
              .citation =
                  "mmap(2) (\"A file is mapped in multiples of the page size ... "
                  "references beyond the end of the file ... SIGBUS\"); send(2) EFAULT; "
                  "kernel: copy_from_iter() faults, unix_stream_sendmsg() -> -EFAULT",
              .catalogue = "IC-06");
TEST_F(MappedMemoryTest, SendFromSharedPageBeyondEofGivesEfault) {
  Fd file(::open(here().path_name("file").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(file.valid()) << errno_name(errno);
  ASSERT_EQ(::ftruncate(file.get(), static_cast<off_t>(page_size())), 0) << errno_name(errno);
  // Two pages of a one-page file: the second lies wholly past its end.
  const Mapping mapped(2 * page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, file.get());
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_STREAM, 0));
  Fd sender(pair.fds[0]);
  Fd receiver(pair.fds[1]);
  const char* beyond = mapped.at(page_size());
  EXPECT_THAT(call::attempt(fmt::format("send({}, <shared page past EOF>, 1, 0)", sender.get()),
                            [&] { return ::send(sender.get(), beyond, 1, MSG_DONTWAIT); }),
              FailsWith(EFAULT));
  EXPECT_THAT(call::send(sender.get(), std::string(mapped.at(0), 4), MSG_DONTWAIT), Returns(4))
      << "the page within the file must be readable";
  EXPECT_THAT(call::recv(receiver.get(), 16, MSG_DONTWAIT), Returns(4))
      << "only the 4 bytes from within the file were to arrive";
}

// Races: one thread calls, another pulls the socket or its name away. Each round ends with a
// result one of the orders of the two calls allows; the loops are bounded, and every wait
// has a timeout, so a kernel or emulator that loses a wake-up fails the case, not the run.
class RacingCallsTest : public CaseTest {};

SOCKSPEC_RULE(RacingCallsTest, RecvmmsgRacingClose,
              .text =
                  "recvmmsg() with a timeout, racing close() of its socket in another "
                  "thread, returns messages, 0 messages at the timeout, or fails with EBADF "
                  "(closed first), never anything else, and the process survives "
                  "(CVE-2016-7117: a use-after-free on the error path)",
              .citation =
                  "recvmmsg(2); close(2) (\"closing a file descriptor while it is in use "
                  "by a system call in another thread\" is unspecified but must be safe); "
                  "kernel: do_recvmmsg() error path fixed by 34b88a68f26a",
              .linux_note = "Linux 4.5 and later (the CVE fix)", .catalogue = "IC-08");
TEST_F(RacingCallsTest, RecvmmsgRacingClose) {
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_DGRAM, 0));
    Fd sender(pair.fds[0]);
    const int receiver = pair.fds[1];
    ASSERT_THAT(call::send(sender.get(), "a", MSG_DONTWAIT), Returns(1));
    std::atomic<bool> go{false};
    long got = 0;
    int err = 0;
    std::thread reader([&] {
      char buffer[8];
      iovec piece{buffer, sizeof buffer};
      mmsghdr message{};
      message.msg_hdr.msg_iov = &piece;
      message.msg_hdr.msg_iovlen = 1;
      timespec timeout{0, 2'000'000};
      while (!go.load()) {
      }
      got = ::recvmmsg(receiver, &message, 1, 0, &timeout);
      err = errno;
    });
    go.store(true);
    ::close(receiver);
    reader.join();
    // One message was queued: the call gets it (1), or finds the fd closed (EBADF).
    EXPECT_TRUE(got == 1 || (got == -1 && err == EBADF))
        << "round " << round << ": recvmmsg() racing close() "
        << (got >= 0 ? fmt::format("returned {}", got) : "failed with " + errno_name(err));
  }
}

SOCKSPEC_RULE(RacingCallsTest, SendtoRacingBindUnlinkAndClose,
              .text =
                  "sendto() a pathname while another thread binds, unlinks and closes the "
                  "receiver under that name succeeds or fails with ENOENT or ECONNREFUSED "
                  "(no socket there, or a dead one), or EAGAIN (a receiver's queue is "
                  "full), never anything else",
              .citation =
                  "unix(7) ERRORS ECONNREFUSED, ENOENT; kernel: unix_dgram_sendmsg() -> "
                  "unix_find_other() (looks the path up at each send), "
                  "unix_release_sock()",
              .catalogue = "IC-08");
TEST_F(RacingCallsTest, SendtoRacingBindUnlinkAndClose) {
  constexpr int kRounds = 300;
  const UnixAddress name = UnixAddress::pathname(here().path_name("rcv"));
  Fd sender = open_socket(SOCK_DGRAM);
  std::atomic<bool> done{false};
  std::string renamer_failure;  // written before `done` is set
  std::thread renamer([&] {
    // An exception that left the thread would abort the whole case process, unreported.
    try {
      for (int round = 0; round < kRounds; ++round) {
        Fd receiver = open_socket(SOCK_DGRAM);
        (void)::bind(receiver.get(), name.get(), name.length());
        ::unlink(name.path_bytes().data());
      }
    } catch (const std::exception& e) {
      renamer_failure = e.what();
    }
    done.store(true);
  });
  int sends = 0;
  while (!done.load() || sends == 0) {
    const CallResult sent = call::sendto(sender.get(), "x", MSG_DONTWAIT, name);
    ++sends;
    EXPECT_TRUE(!sent.failed() || sent.err == ENOENT || sent.err == ECONNREFUSED ||
                sent.err == EAGAIN)
        << sent.describe();
    if (::testing::Test::HasFailure()) break;
  }
  renamer.join();
  EXPECT_EQ(renamer_failure, "") << "the thread that binds and unlinks the receiver's name";
}

}  // namespace
}  // namespace sockspec
