// Network-interface ioctls are not the socket's own: on any socket, AF_UNIX included, the
// requests the protocol does not handle go on to the device layer, so SIOCGIFINDEX answers
// about the namespace's interfaces through a unix socket as it does through an inet one.
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/fd.h"

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
                  "interface (lo: the one /sys/class/net/lo/ifindex gives) and fails with "
                  "ENODEV for a name no interface has",
              .citation =
                  "netdevice(7) SIOCGIFINDEX (\"any socket ... regardless of its family\"); "
                  "kernel: unix_ioctl() returns -ENOIOCTLCMD, sock_ioctl() -> dev_ioctl() "
                  "-> dev_ifsioc_locked()",
              .catalogue = "IO-04");
TEST_P(InterfaceIoctlTest, InterfaceIndexThroughAUnixSocket) {
  Fd fd = open_socket(GetParam());
  long loopback = -1;
  std::ifstream("/sys/class/net/lo/ifindex") >> loopback;
  ASSERT_GT(loopback, 0) << "cannot read /sys/class/net/lo/ifindex";
  EXPECT_THAT(interface_index(fd.get(), "lo"), Returns(loopback));
  EXPECT_THAT(interface_index(fd.get(), "sockspec-none"), FailsWith(ENODEV));
}

}  // namespace
}  // namespace sockspec
