// A relative sun_path is a path like any other: the kernel resolves it against the calling
// process's current working directory at the time of each call (path_resolution(7)), for
// bind(), connect() and sendto() alike. The socket file stays where it was made; a process
// that moves elsewhere reaches it by another name, and by the old one reaches nothing.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/rule.h"

namespace sockspec {
namespace {

class RelativeNameTest : public CaseTest {};

SOCKSPEC_RULE(
    RelativeNameTest, ResolvedAgainstTheDirectoryOfEachCall,
    .text =
        "a relative sun_path is resolved against the caller's current working directory "
        "at the time of each call: after chdir(), connect() and sendto() with the name "
        "used in the old directory fail with ENOENT, and the name relative to the new "
        "directory reaches the socket",
    .citation =
        "path_resolution(7) \"Step 1\" (a relative pathname starts at the current working "
        "directory); unix(7) \"Pathname sockets\"; unix_bind_bsd() -> "
        "kern_path_create(AT_FDCWD, ...) and unix_find_bsd() -> kern_path()",
    .catalogue = "AD-13",
    .see_also =
        "cases/02-addresses/02-relative-pathname-resolves-against-cwd.case, "
        "cases/11-isolation/01-a-path-leads-to-the-socket-inode.case");
TEST_F(RelativeNameTest, ResolvedAgainstTheDirectoryOfEachCall) {
  ASSERT_EQ(::mkdir("inner", 0755), 0);
  ASSERT_EQ(::chdir("inner"), 0);
  Fd receiver = open_socket(SOCK_DGRAM);
  must(call::bind(receiver.get(), UnixAddress::pathname("rcv")));
  Fd listener = open_socket(SOCK_STREAM | SOCK_NONBLOCK);
  must(call::bind(listener.get(), UnixAddress::pathname("srv")));
  must(call::listen(listener.get(), 4));
  Fd sender = open_socket(SOCK_DGRAM);
  Fd inside = open_socket(SOCK_STREAM);
  EXPECT_THAT(call::sendto(sender.get(), "in", 0, UnixAddress::pathname("rcv")), Returns(2));
  EXPECT_THAT(call::connect(inside.get(), UnixAddress::pathname("srv")), Succeeds());

  ASSERT_EQ(::chdir(".."), 0);
  Fd outside = open_socket(SOCK_STREAM);
  EXPECT_THAT(call::sendto(sender.get(), "x", 0, UnixAddress::pathname("rcv")), FailsWith(ENOENT));
  EXPECT_THAT(call::connect(outside.get(), UnixAddress::pathname("srv")), FailsWith(ENOENT));
  EXPECT_THAT(call::sendto(sender.get(), "out", 0, UnixAddress::pathname("inner/rcv")), Returns(3));
  EXPECT_THAT(call::connect(outside.get(), UnixAddress::pathname("inner/srv")), Succeeds());

  // Both datagrams reached the one receiver, in order; both connections the one listener.
  EXPECT_THAT(call::recv(receiver.get(), 16, MSG_DONTWAIT), Receives("in"));
  EXPECT_THAT(call::recv(receiver.get(), 16, MSG_DONTWAIT), Receives("out"));
  Fd first(static_cast<int>(must(call::accept(listener.get())).value));
  Fd second(static_cast<int>(must(call::accept(listener.get())).value));
}

}  // namespace
}  // namespace sockspec
