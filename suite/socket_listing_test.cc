// How other programs see a process's AF_UNIX sockets: /proc/net/unix lists every socket of
// the network namespace (what ss and netstat read), and sock_diag (NETLINK_SOCK_DIAG) finds
// one by inode number and cookie, as tools that inspect another process's fds do. Both
// answer from the kernel's own state: unix_seq_show() and net/unix/diag.c.
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "case/address.h"
#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/rule.h"
#include "os/case_error.h"
#include "os/fd.h"
#include "os/names.h"
#include "os/quote.h"

namespace sockspec {
namespace {

ino_t inode_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw CaseError("fstat: " + errno_name(errno));
  return st.st_ino;
}

// ---- /proc/net/unix ------------------------------------------------------------------------

// One line of /proc/net/unix: "Num RefCount Protocol Flags Type St Inode [Path]".
struct ProcNetUnixEntry {
  std::string flags, type, state, path;
};

struct ProcNetUnix {
  std::string header;
  std::map<ino_t, ProcNetUnixEntry> by_inode;
};

ProcNetUnix read_proc_net_unix() {
  std::ifstream file("/proc/net/unix");
  if (!file) throw CaseError(fmt::format("cannot open /proc/net/unix: {}", std::strerror(errno)));
  ProcNetUnix table;
  std::getline(file, table.header);
  for (std::string line; std::getline(file, line);) {
    std::istringstream fields(line);
    std::string num, refcount, protocol;
    ProcNetUnixEntry entry;
    ino_t inode = 0;
    fields >> num >> refcount >> protocol >> entry.flags >> entry.type >> entry.state >> inode;
    fields >> std::ws;
    std::getline(fields, entry.path);
    table.by_inode[inode] = entry;
  }
  return table;
}

// "Flags Type St Path" of the socket behind `fd`, as /proc/net/unix shows it.
std::string listed(const ProcNetUnix& table, int fd) {
  const auto found = table.by_inode.find(inode_of(fd));
  if (found == table.by_inode.end()) return "not listed";
  const ProcNetUnixEntry& e = found->second;
  return fmt::format("{} {} {} {}", e.flags, e.type, e.state, e.path.empty() ? "-" : e.path);
}

class SocketListingTest : public CaseTest {};

SOCKSPEC_RULE(SocketListingTest, ProcNetUnixListsEverySocket,
              .text =
                  "/proc/net/unix has the header \"Num RefCount Protocol Flags Type St Inode "
                  "Path\" and a line per socket, found by its inode: listeners with flag "
                  "00010000 (__SO_ACCEPTCON); type 0001 stream, 0002 dgram, 0005 seqpacket; "
                  "state 01 (SS_UNCONNECTED) or 03 (SS_CONNECTED); the bound name as given "
                  "(abstract with a leading @), the listener's name also on accepted sockets",
              .citation =
                  "proc(5) /proc/net/unix (\"Flags ... "
                  "__SO_ACCEPTCON ... St ... Path\"); kernel: unix_seq_show()",
              .catalogue = "IO-05");
TEST_F(SocketListingTest, ProcNetUnixListsEverySocket) {
  const std::string path = here().path_name("listed");
  const std::string abstract = here().abstract_name("listed");
  Fd listener = open_socket(SOCK_STREAM);
  must(call::bind(listener.get(), UnixAddress::pathname(path)));
  must(call::listen(listener.get(), 4));
  Fd client = open_socket(SOCK_STREAM);
  must(call::connect(client.get(), UnixAddress::pathname(path)));
  Fd accepted(static_cast<int>(must(call::accept(listener.get())).value));
  Fd abstract_listener = open_socket(SOCK_SEQPACKET);
  must(call::bind(abstract_listener.get(), UnixAddress::abstract(abstract)));
  must(call::listen(abstract_listener.get(), 4));
  Fd unconnected = open_socket(SOCK_STREAM);
  const CallResult pair = must(call::socketpair(AF_UNIX, SOCK_DGRAM, 0));
  Fd pair_a(pair.fds[0]), pair_b(pair.fds[1]);

  const ProcNetUnix table = read_proc_net_unix();
  EXPECT_EQ(table.header, "Num       RefCount Protocol Flags    Type St Inode Path");
  EXPECT_EQ(listed(table, listener.get()), fmt::format("00010000 0001 01 {}", path))
      << "a listening pathname stream socket";
  EXPECT_EQ(listed(table, client.get()), "00000000 0001 03 -") << "a connected client";
  EXPECT_EQ(listed(table, accepted.get()), fmt::format("00000000 0001 03 {}", path))
      << "an accepted socket";
  EXPECT_EQ(listed(table, abstract_listener.get()), fmt::format("00010000 0005 01 @{}", abstract))
      << "a listening abstract seqpacket socket";
  EXPECT_EQ(listed(table, unconnected.get()), "00000000 0001 01 -") << "an unconnected socket";
  EXPECT_EQ(listed(table, pair_a.get()), "00000000 0002 03 -") << "a datagram socketpair end";
  EXPECT_EQ(listed(table, pair_b.get()), "00000000 0002 03 -") << "the other end";

  const ino_t gone = inode_of(unconnected.get());
  unconnected.reset();
  EXPECT_EQ(read_proc_net_unix().by_inode.count(gone), 0u) << "a closed socket is still listed";
}

// ---- sock_diag -----------------------------------------------------------------------------

// A cookie of all ones asks for the socket whatever its cookie (INET_DIAG_NOCOOKIE, both halves).
constexpr std::uint64_t kAnyCookie = ~std::uint64_t{0};

std::uint64_t cookie_of(int fd) {
  std::uint64_t cookie = 0;
  socklen_t length = sizeof cookie;
  if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &length) != 0)
    throw CaseError("getsockopt(SO_COOKIE): " + errno_name(errno));
  return cookie;
}

// What sock_diag answered about one socket: an error, or the socket with its name and uid.
struct DiagAnswer {
  int err = 0;  // from NLMSG_ERROR, positive
  unix_diag_msg msg{};
  std::string name;
  std::optional<std::uint32_t> uid;

  std::string describe() const {
    if (err) return "NLMSG_ERROR " + errno_name(err);
    // quote_bytes() writes a pathname's terminating NUL out as \0.
    return fmt::format("{{ino={} type={} name={} uid={}}}", msg.udiag_ino, msg.udiag_type,
                       quote_bytes(name), uid ? std::to_string(*uid) : "none");
  }
};

DiagAnswer ask_sock_diag(ino_t inode, std::uint64_t cookie) {
  Fd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!netlink.valid())
    throw CaseError("socket(AF_NETLINK, NETLINK_SOCK_DIAG): " + errno_name(errno));
  struct {
    nlmsghdr header;
    unix_diag_req request;
  } query{};
  query.header.nlmsg_len = sizeof query;
  query.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  query.header.nlmsg_flags = NLM_F_REQUEST;
  query.request.sdiag_family = AF_UNIX;
  query.request.udiag_states = ~0U;
  query.request.udiag_ino = static_cast<std::uint32_t>(inode);
  query.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_UID;
  query.request.udiag_cookie[0] = static_cast<std::uint32_t>(cookie);
  query.request.udiag_cookie[1] = static_cast<std::uint32_t>(cookie >> 32);
  if (::send(netlink.get(), &query, sizeof query, 0) != sizeof query)
    throw CaseError("send to NETLINK_SOCK_DIAG: " + errno_name(errno));
  // The kernel answers a request for one socket before send() returns.
  alignas(nlmsghdr) char reply[8192];
  const ssize_t n = ::recv(netlink.get(), reply, sizeof reply, MSG_DONTWAIT);
  if (n < 0) throw CaseError("recv from NETLINK_SOCK_DIAG: " + errno_name(errno));
  DiagAnswer answer;
  const auto* header = reinterpret_cast<const nlmsghdr*>(reply);
  if (!NLMSG_OK(header, static_cast<unsigned>(n))) throw CaseError("a short sock_diag reply");
  if (header->nlmsg_type == NLMSG_ERROR) {
    answer.err = -static_cast<const nlmsgerr*>(NLMSG_DATA(header))->error;
    return answer;
  }
  std::memcpy(&answer.msg, NLMSG_DATA(header), sizeof answer.msg);
  const auto* attribute =
      reinterpret_cast<const char*>(NLMSG_DATA(header)) + NLMSG_ALIGN(sizeof(unix_diag_msg));
  const char* end = reinterpret_cast<const char*>(header) + header->nlmsg_len;
  while (attribute + sizeof(nlattr) <= end) {
    const auto* a = reinterpret_cast<const nlattr*>(attribute);
    if (a->nla_len < sizeof(nlattr)) break;
    const char* payload = attribute + NLA_HDRLEN;
    const std::size_t size = a->nla_len - NLA_HDRLEN;
    if (a->nla_type == UNIX_DIAG_NAME) answer.name.assign(payload, size);
    if (a->nla_type == UNIX_DIAG_UID && size == sizeof(std::uint32_t)) {
      std::uint32_t uid = 0;
      std::memcpy(&uid, payload, sizeof uid);
      answer.uid = uid;
    }
    attribute += NLA_ALIGN(a->nla_len);
  }
  return answer;
}

SOCKSPEC_RULE(SocketListingTest, SockDiagFindsASocketByInodeAndCookie,
              .text =
                  "a SOCK_DIAG_BY_FAMILY request for AF_UNIX with a socket's inode and "
                  "SO_COOKIE returns that socket: its inode, type, bound name (UNIX_DIAG_NAME: "
                  "the sun_path bind() recorded, a pathname with its NUL) and owner's uid "
                  "(UNIX_DIAG_UID); a wrong cookie is ESTALE, an inode no "
                  "socket has is ENOENT",
              .citation =
                  "sock_diag(7) (unix_diag_req, UDIAG_SHOW_NAME, UDIAG_SHOW_UID); kernel: "
                  "unix_diag_get_exact(), sock_diag_check_cookie() (-ESTALE)",
              .catalogue = "IO-06");
TEST_F(SocketListingTest, SockDiagFindsASocketByInodeAndCookie) {
  const std::string path = here().path_name("diag");
  Fd socket = open_socket(SOCK_DGRAM);
  must(call::bind(socket.get(), UnixAddress::pathname(path)));
  const ino_t inode = inode_of(socket.get());
  const std::uint64_t cookie = cookie_of(socket.get());

  const DiagAnswer found = ask_sock_diag(inode, cookie);
  EXPECT_EQ(found.describe(), fmt::format("{{ino={} type={} name=\"{}\\0\" uid={}}}", inode,
                                          SOCK_DGRAM, path, ::geteuid()));
  if (!found.err) {
    EXPECT_EQ(std::uint64_t{found.msg.udiag_cookie[1]} << 32 | found.msg.udiag_cookie[0], cookie)
        << "the cookie sock_diag reports";
  }
  EXPECT_EQ(ask_sock_diag(inode, cookie + 1).describe(), "NLMSG_ERROR ESTALE")
      << "asked with a wrong cookie";
  Fd other = open_socket(SOCK_DGRAM);
  const ino_t closed_inode = inode_of(other.get());
  other.reset();
  EXPECT_EQ(ask_sock_diag(closed_inode, kAnyCookie).describe(), "NLMSG_ERROR ENOENT")
      << "asked for the inode of a closed socket";
}

SOCKSPEC_RULE(SocketListingTest, SockDiagUidSeenFromTheAskersUserNamespace,
              .text =
                  "UNIX_DIAG_UID is the socket owner's uid as the asker's user namespace "
                  "maps it: uid 0 mapped to 100 shows as 100, an unmapped uid as the "
                  "overflow uid 65534",
              .citation =
                  "sock_diag(7) UNIX_DIAG_UID; user_namespaces(7) (unmapped ids appear as "
                  "/proc/sys/kernel/overflowuid); kernel: sk_diag_dump_uid() -> "
                  "from_kuid_munged(sk_user_ns(netlink socket), sock_i_uid())",
              .catalogue = "IO-06");
TEST_F(SocketListingTest, SockDiagUidSeenFromTheAskersUserNamespace) {
  SOCKSPEC_REQUIRES("root");
  Fd owned_by_root = open_socket(SOCK_STREAM);
  const ino_t inode = inode_of(owned_by_root.get());
  const std::uint64_t cookie = cookie_of(owned_by_root.get());
  Peer& asker = here().fork_peer("in-user-namespace", [&](PeerSelf& self) {
    if (::unshare(CLONE_NEWUSER) != 0)
      throw CaseError("unshare(CLONE_NEWUSER): " + errno_name(errno));
    std::ofstream("/proc/self/uid_map") << "100 0 1\n";
    self.report("uid", ask_sock_diag(inode, cookie).describe());
  });
  EXPECT_EQ(asker.value("uid"),
            fmt::format("{{ino={} type={} name=\"\" uid=100}}", inode, SOCK_STREAM))
      << "root's socket, asked from a user namespace mapping 0 to 100";
  asker.expect_clean_exit();

  Peer& unmapped = here().fork_peer("unmapped", [&](PeerSelf& self) {
    if (::unshare(CLONE_NEWUSER) != 0)
      throw CaseError("unshare(CLONE_NEWUSER): " + errno_name(errno));
    self.report("uid", ask_sock_diag(inode, cookie).describe());
  });
  EXPECT_EQ(unmapped.value("uid"),
            fmt::format("{{ino={} type={} name=\"\" uid=65534}}", inode, SOCK_STREAM))
      << "root's socket, asked from a user namespace with no uid map";
  unmapped.expect_clean_exit();
}

}  // namespace
}  // namespace sockspec
