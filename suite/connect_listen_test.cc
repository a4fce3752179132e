// What connect() makes of an address that is not an AF_UNIX one, and how far listen()'s
// backlog reaches. Both are rules a script cannot write: a script's addresses are always
// AF_UNIX, and the backlog's ceiling is a sysctl of the network namespace.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/names.h"
#include "os/namespaces.h"

namespace sockspec {
namespace {

class ConnectAddressTest : public CaseTest, public ::testing::WithParamInterface<int> {
 protected:
  int type() const { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Types, ConnectAddressTest, ::testing::Values(SOCK_STREAM, SOCK_SEQPACKET),
                         SocketTypeName());

// connect(2) lists EAFNOSUPPORT for "not a valid address for the socket's address family",
// but unix_validate_addr() answers a wrong sun_family and an addrlen that cannot hold one the
// same way: EINVAL. (SOCK_DGRAM differs: AF_UNSPEC there dissolves the association.)
SOCKSPEC_RULE(ConnectAddressTest, WrongFamilyOrLengthIsEinval,
              .text =
                  "connect() on a stream or seqpacket socket with sun_family other than "
                  "AF_UNIX, or with an addrlen too short for a name or longer than struct "
                  "sockaddr_un, fails with EINVAL, not EAFNOSUPPORT",
              .citation =
                  "connect(2) ERRORS EAFNOSUPPORT, EINVAL; unix_stream_connect() -> "
                  "unix_validate_addr() (addr_len <= offsetof(sun_path), addr_len > "
                  "sizeof(sockaddr_un), sun_family != AF_UNIX: -EINVAL)",
              .linux_note =
                  "connect(2) promises EAFNOSUPPORT for a wrong family; Linux AF_UNIX "
                  "gives EINVAL",
              .catalogue = "CO-15");
TEST_P(ConnectAddressTest, WrongFamilyOrLengthIsEinval) {
  const UnixAddress name = UnixAddress::pathname(here().path_name("srv"));
  Fd listener = open_socket(type());
  ASSERT_THAT(call::bind(listener.get(), name), Succeeds());
  ASSERT_THAT(call::listen(listener.get(), 4), Succeeds());

  Fd client = open_socket(type());
  EXPECT_THAT(call::connect(client.get(), name.with_family(AF_INET)), FailsWith(EINVAL));
  EXPECT_THAT(call::connect(client.get(), name.with_family(AF_UNSPEC)), FailsWith(EINVAL));
  EXPECT_THAT(call::connect(client.get(), name.with_length(sizeof(sa_family_t))),
              FailsWith(EINVAL));
  EXPECT_THAT(call::connect(client.get(), name.with_length(1)), FailsWith(EINVAL));
  EXPECT_THAT(call::connect(client.get(), name.with_length(sizeof(sockaddr_un) + 1)),
              FailsWith(EINVAL));
  // None of them touched the socket: the right address still connects.
  EXPECT_THAT(call::connect(client.get(), name), Succeeds());
}

// listen() takes any backlog and silently caps it at net.core.somaxconn, a sysctl of each
// network namespace. The case lowers it to 1 in a namespace of its own, where nothing else
// listens, and asks for a backlog of 1000: the queue holds two (it is full when it holds more
// than the backlog), as if the backlog were 1.
SOCKSPEC_RULE(ListenBacklogTest, CappedAtSomaxconn,
              .text =
                  "listen() with a backlog above net.core.somaxconn succeeds, and the queue "
                  "holds only as many pending connections as somaxconn allows",
              .citation =
                  "listen(2) NOTES (\"If the backlog argument is greater than the value in "
                  "/proc/sys/net/core/somaxconn, then it is silently capped to that "
                  "value\"); __sys_listen() (min(backlog, net->core.sysctl_somaxconn)); "
                  "unix_recvq_full()",
              .catalogue = "LA-06");
class ListenBacklogTest : public CaseTest {};
TEST_F(ListenBacklogTest, CappedAtSomaxconn) {
  SOCKSPEC_REQUIRES("netns");
  if (const std::string why_not = enter_new_network_namespace(); !why_not.empty())
    GTEST_SKIP() << why_not;
  // net.core.somaxconn belongs to the namespace just made: lowering it touches nothing else.
  const Fd somaxconn(::open("/proc/sys/net/core/somaxconn", O_WRONLY | O_CLOEXEC));
  if (!somaxconn.valid() || ::write(somaxconn.get(), "1", 1) != 1)
    GTEST_SKIP() << "cannot set net.core.somaxconn in the case's own network namespace "
                    "(open or write of /proc/sys/net/core/somaxconn: "
                 << errno_name(errno) << "), so there is no ceiling the case can show";
  const UnixAddress name = UnixAddress::pathname(here().path_name("srv"));
  Fd listener = open_socket(SOCK_STREAM);
  ASSERT_THAT(call::bind(listener.get(), name), Succeeds());
  EXPECT_THAT(call::listen(listener.get(), 1000), Succeeds());

  std::vector<Fd> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(open_socket(SOCK_STREAM | SOCK_NONBLOCK));
  EXPECT_THAT(call::connect(clients[0].get(), name), Succeeds());
  EXPECT_THAT(call::connect(clients[1].get(), name), Succeeds());
  EXPECT_THAT(call::connect(clients[2].get(), name), FailsWith(EAGAIN))
      << "the queue took a third connection: the backlog of 1000 was not capped at 1";
}
}  // namespace
}  // namespace sockspec
