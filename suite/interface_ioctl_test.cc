// Network-interface ioctls are not the socket's own: on any socket, AF_UNIX included, the
// requests the protocol does not handle go on to the device layer, so SIOCGIFINDEX answers
// about the namespace's interfaces through a unix socket as it does through an inet one.
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/fd.h"
#include "os/names.h"

namespace sockspec {
namespace {

class InterfaceIoctlTest : public CaseTest, public ::testing::WithParamInterface<int> {};
INSTANTIATE_TEST_SUITE_P(Types, InterfaceIoctlTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

// ioctl(SIOCGIFINDEX) for `name`; on success `value` is the interface's index.
CallResult interface_index(int fd, const char* name) {
  ifreq request{};
  std::strncpy(request.ifr_name, name, IFNAMSIZ - 1);
  CallResult r = call::attempt(fmt::format("ioctl({}, SIOCGIFINDEX, \"{}\")", fd, name),
                               [&] { return ::ioctl(fd, SIOCGIFINDEX, &request); });
  if (!r.failed()) r.value = request.ifr_ifindex;
  return r;
}

SOCKSPEC_RULE(InterfaceIoctlTest, InterfaceIndexThroughAUnixSocket,
              .text =
                  "ioctl(SIOCGIFINDEX) on an AF_UNIX socket returns the index of an existing "
                  "interface (lo: the index an AF_INET socket gives) and fails with ENODEV "
                  "for a name no interface has",
              .citation =
                  "netdevice(7) SIOCGIFINDEX (\"any socket ... regardless of its family\"); "
                  "kernel: unix_ioctl() returns -ENOIOCTLCMD, sock_ioctl() -> dev_ioctl() "
                  "-> dev_ifsioc_locked()",
              .catalogue = "IO-04");
TEST_P(InterfaceIoctlTest, InterfaceIndexThroughAUnixSocket) {
  Fd fd = open_socket(GetParam());
  // The reference: the same request through the family the ioctl was made for.
  Fd inet(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(inet.valid()) << "socket(AF_INET, SOCK_DGRAM): " << errno_name(errno);
  const CallResult loopback = interface_index(inet.get(), "lo");
  ASSERT_THAT(loopback, Succeeds()) << "SIOCGIFINDEX through an AF_INET socket";
  EXPECT_THAT(interface_index(fd.get(), "lo"), Returns(loopback.value));
  EXPECT_THAT(interface_index(fd.get(), "sockspec-none"), FailsWith(ENODEV));
}

}  // namespace
}  // namespace sockspec
