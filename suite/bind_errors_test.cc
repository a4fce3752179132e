// bind(2) on AF_UNIX sockets: how a name is given, and every way giving it can fail.
//
// unix_bind() sorts an address by its length and first byte before anything else:
//   addrlen == sizeof(sa_family_t) and sun_family == AF_UNIX
//       autobind: the kernel picks an abstract name (unix_autobind());
//   addrlen outside (sizeof(sa_family_t), sizeof(sockaddr_un)], or sun_family != AF_UNIX
//       EINVAL (unix_validate_addr());
//   sun_path[0] != '\0'   a pathname (unix_bind_bsd());
//   sun_path[0] == '\0'   an abstract name (unix_bind_abstract()).
//
// A pathname bind is a mknod(2) of a socket file: the path is resolved like any other path,
// so the errors are the filesystem's (ENOENT, ENOTDIR, ELOOP, EACCES, EROFS), and a name that
// already exists, whatever it is (a regular file, a dangling symlink, the stale file of a
// closed socket), gives EEXIST, which bind() reports as EADDRINUSE. The file stays when the
// socket is closed: unix(7) NOTES, "Binding to a socket with a filename creates a socket in
// the filesystem that must be deleted by the caller". The file gets mode 0777 & ~umask.
//
// An abstract name lives in a table of the network namespace (one per socket type), not in a
// filesystem: it is in use exactly as long as the socket bound to it is open, and nothing
// needs unlinking.
//
// A socket is bound once: a second bind() fails with EINVAL. For a pathname the kernel makes
// the file before it looks at the socket (and removes it again), so a pathname that exists
// gives EADDRINUSE instead; for an abstract name the socket is looked at first. An autobind
// request on a socket that already has a name is not an error at all.
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "case/call.h"
#include "case/case.h"
#include "case/expect.h"
#include "case/rule.h"
#include "case/socket_types.h"
#include "os/case_error.h"
#include "os/fd.h"
#include "os/names.h"
#include "os/namespaces.h"

namespace sockspec {
namespace {

using ::testing::MatchesRegex;

// The name the kernel reports for the socket.
UnixAddress name_of(int fd) {
  return *must(call::getsockname(fd)).address;
}

// lstat() of `path`: what is there (without following a symlink), or nullopt for nothing.
std::optional<struct stat> look_up(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

bool is_socket_file(const std::string& path) {
  const auto st = look_up(path);
  return st && S_ISSOCK(st->st_mode);
}

void make_regular_file(const std::string& path) {
  std::ofstream file(path);
  if (!file)
    throw CaseError(
        fmt::format("cannot create the regular file {}: {}", path, std::strerror(errno)));
}

// A directory with exactly `mode` (chmod after mkdir, so the umask does not interfere).
void make_directory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), 0700) != 0 || ::chmod(path.c_str(), mode) != 0)
    throw CaseError(
        fmt::format("cannot make directory {} with mode {:o}: {}", path, mode, errno_name(errno)));
}

void make_symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) != 0)
    throw CaseError(fmt::format("symlink({}, {}): {}", target, link, errno_name(errno)));
}

class BindTest : public CaseTest, public ::testing::WithParamInterface<int> {
 protected:
  int type() const { return GetParam(); }
  Fd fresh_socket() const { return open_socket(type()); }
};

// ---------------------------------------------------------------------------------------
// EADDRINUSE: the name is taken.

class BindAddressInUseTest : public BindTest {};
INSTANTIATE_TEST_SUITE_P(Types, BindAddressInUseTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

SOCKSPEC_RULE(BindAddressInUseTest, PathIsARegularFile,
              .text =
                  "bind() to a pathname where a regular file exists fails with EADDRINUSE and "
                  "leaves the file as it was",
              .citation =
                  "unix(7) ERRORS EADDRINUSE (\"the filesystem socket object already exists\"); "
                  "bind(2) ERRORS EADDRINUSE; unix_bind_bsd() maps EEXIST to EADDRINUSE",
              .catalogue = "BE-03");
TEST_P(BindAddressInUseTest, PathIsARegularFile) {
  const std::string path = here().path_name("file");
  make_regular_file(path);
  Fd fd = fresh_socket();
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(path)), FailsWith(EADDRINUSE));
  const auto st = look_up(path);
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISREG(st->st_mode)) << path << " is no longer a regular file";
}

SOCKSPEC_RULE(BindAddressInUseTest, StaleSocketFileAfterClose,
              .text =
                  "closing a socket bound to a pathname leaves its socket file behind, and bind() "
                  "to that path fails with EADDRINUSE until the file is unlinked",
              .citation =
                  "unix(7) NOTES (the socket file \"must be deleted by the caller ... using "
                  "unlink(2)\"); unix(7) ERRORS EADDRINUSE; unix_bind_bsd()",
              .catalogue = "BE-02",
              .see_also =
                  "cases/02-addresses/11-socket-file-outlives-its-socket.case, "
                  "cases/06-bind-errors/01-stale-socket-file-is-in-use.case");
TEST_P(BindAddressInUseTest, StaleSocketFileAfterClose) {
  const std::string path = here().path_name("srv");
  const UnixAddress address = UnixAddress::pathname(path);
  Fd first = fresh_socket();
  ASSERT_THAT(call::bind(first.get(), address), Succeeds());
  EXPECT_THAT(call::close(first.release()), Succeeds());
  EXPECT_TRUE(is_socket_file(path)) << "close() removed the socket file " << path;

  Fd second = fresh_socket();
  EXPECT_THAT(call::bind(second.get(), address), FailsWith(EADDRINUSE));
  // The failed bind left `second` unbound; once the name is free it can have it.
  ASSERT_EQ(::unlink(path.c_str()), 0) << errno_name(errno);
  EXPECT_THAT(call::bind(second.get(), address), Succeeds());
}

SOCKSPEC_RULE(BindAddressInUseTest, AbstractNameHeldByAnotherSocket,
              .text =
                  "bind() to an abstract name that an open socket of the same type is bound to "
                  "fails with EADDRINUSE",
              .citation =
                  "unix(7) ERRORS EADDRINUSE (\"the specified local address is already in use\"); "
                  "unix_bind_abstract()",
              .linux_note = "abstract namespace since Linux 2.2", .catalogue = "BE-01",
              .see_also =
                  "cases/02-addresses/05-addrlen-decides-the-abstract-name.case, "
                  "cases/06-bind-errors/02-abstract-name-held-by-an-open-socket.case");
TEST_P(BindAddressInUseTest, AbstractNameHeldByAnotherSocket) {
  const UnixAddress address = UnixAddress::abstract(here().abstract_name("srv"));
  Fd holder = fresh_socket();
  ASSERT_THAT(call::bind(holder.get(), address), Succeeds());
  Fd second = fresh_socket();
  EXPECT_THAT(call::bind(second.get(), address), FailsWith(EADDRINUSE));
}

SOCKSPEC_RULE(BindAddressInUseTest, AbstractNameIsFreeOnceItsSocketIsClosed,
              .text =
                  "an abstract name is released when the socket bound to it is closed: a new "
                  "socket can bind it at once, with nothing to unlink",
              .citation =
                  "unix(7) \"Abstract sockets\" (they \"automatically disappear when all open "
                  "references to the socket are closed\"); unix_release_sock()",
              .linux_note = "abstract namespace since Linux 2.2", .catalogue = "AD-21",
              .see_also =
                  "cases/02-addresses/12-abstract-name-nobody-holds.case, "
                  "cases/06-bind-errors/02-abstract-name-held-by-an-open-socket.case");
TEST_P(BindAddressInUseTest, AbstractNameIsFreeOnceItsSocketIsClosed) {
  const UnixAddress address = UnixAddress::abstract(here().abstract_name("srv"));
  Fd first = fresh_socket();
  ASSERT_THAT(call::bind(first.get(), address), Succeeds());
  EXPECT_THAT(call::close(first.release()), Succeeds());
  Fd second = fresh_socket();
  EXPECT_THAT(call::bind(second.get(), address), Succeeds());
}

// Not in unix(7): the kernel looks abstract names up per socket type (the type is part of
// unix_abstract_hash(), and __unix_find_socket_byname() only searches that bucket), so a
// stream, a datagram and a seqpacket socket can hold the same abstract name at once. A
// pathname, being a file, is taken for every type.
SOCKSPEC_RULE(BindAddressInUseTest, AbstractNameIsPerSocketType,
              .text =
                  "an abstract name held by a socket of one type can still be bound by sockets of "
                  "the other types (Linux keeps one abstract namespace per socket type)",
              .citation =
                  "kernel: unix_abstract_hash() mixes in sk_type, unix_bind_abstract(); "
                  "not documented in unix(7)",
              .catalogue = "BE-04",
              .see_also = "cases/06-bind-errors/03-abstract-names-are-per-socket-type.case");
TEST_P(BindAddressInUseTest, AbstractNameIsPerSocketType) {
  const UnixAddress address = UnixAddress::abstract(here().abstract_name("shared"));
  Fd holder = fresh_socket();
  ASSERT_THAT(call::bind(holder.get(), address), Succeeds());
  std::vector<Fd> others;
  for (int other_type : kSocketTypes) {
    if (other_type == type()) continue;
    others.push_back(open_socket(other_type));
    EXPECT_THAT(call::bind(others.back().get(), address), Succeeds())
        << "a " << socket_type_name(other_type) << " socket binding the name a "
        << socket_type_name(type()) << " socket holds";
  }
}

SOCKSPEC_RULE(BindAddressInUseTest, DanglingSymlinkIsAnExistingName,
              .text =
                  "bind() does not follow a symbolic link in the last path component: a dangling "
                  "symlink is an existing name, so bind() fails with EADDRINUSE and creates "
                  "nothing at the link's target",
              .citation =
                  "unix(7) ERRORS EADDRINUSE; path_resolution(7) \"Final symbolic link\" (up to "
                  "the system call); kernel: unix_bind_bsd() -> kern_path_create() (last component "
                  "not followed, EEXIST)");
TEST_P(BindAddressInUseTest, DanglingSymlinkIsAnExistingName) {
  const std::string target = here().path_name("missing");
  const std::string link = here().path_name("link");
  make_symlink(target, link);
  Fd fd = fresh_socket();
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(link)), FailsWith(EADDRINUSE));
  EXPECT_FALSE(look_up(target)) << "bind() created the symlink's target " << target;
}

// ---------------------------------------------------------------------------------------
// Path resolution: the directories leading to the socket file.

class BindPathLookupTest : public BindTest {};
INSTANTIATE_TEST_SUITE_P(Types, BindPathLookupTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

SOCKSPEC_RULE(BindPathLookupTest, MissingDirectoryGivesEnoent,
              .text = "bind() to a pathname whose directory does not exist fails with ENOENT",
              .citation =
                  "bind(2) ERRORS ENOENT (\"a component in the directory prefix of the socket "
                  "pathname does not exist\"); kern_path_create()",
              .catalogue = "BE-08",
              .see_also = "cases/06-bind-errors/04-missing-directory-gives-enoent.case");
TEST_P(BindPathLookupTest, MissingDirectoryGivesEnoent) {
  const std::string path = here().path_name("no-such-dir") + "/sock";
  Fd fd = fresh_socket();
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(path)), FailsWith(ENOENT));
}

SOCKSPEC_RULE(BindPathLookupTest, TrailingSlashGivesEnoent,
              .text =
                  "bind() to a pathname that ends in '/' fails with ENOENT: only a directory may "
                  "be created under a name with a trailing slash",
              .citation =
                  "path_resolution(7) \"Trailing slashes\"; kernel: filename_create() (a "
                  "trailing slash allows creating only a directory)");
TEST_P(BindPathLookupTest, TrailingSlashGivesEnoent) {
  const std::string name = here().path_name("sock");
  Fd fd = fresh_socket();
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(name + "/")), FailsWith(ENOENT));
  EXPECT_FALSE(look_up(name)) << "bind() created " << name;
}

SOCKSPEC_RULE(BindPathLookupTest, RegularFileInPathPrefixGivesEnotdir,
              .text = "bind() to a pathname whose prefix names a regular file fails with ENOTDIR",
              .citation =
                  "bind(2) ERRORS ENOTDIR (\"a component of the path prefix is not a "
                  "directory\"); path_resolution(7)",
              .catalogue = "BE-09",
              .see_also = "cases/06-bind-errors/12-file-in-the-path-gives-enotdir.case");
TEST_P(BindPathLookupTest, RegularFileInPathPrefixGivesEnotdir) {
  const std::string file = here().path_name("plain-file");
  make_regular_file(file);
  Fd fd = fresh_socket();
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(file + "/sock")), FailsWith(ENOTDIR));
}

SOCKSPEC_RULE(BindPathLookupTest, SymlinkLoopGivesEloop,
              .text =
                  "bind() to a pathname whose prefix runs into a symbolic-link loop fails with "
                  "ELOOP",
              .citation =
                  "bind(2) ERRORS ELOOP (\"too many symbolic links were encountered in resolving "
                  "addr\"); path_resolution(7) (at most 40 symbolic links per pathname)",
              .catalogue = "BE-10",
              .see_also = "cases/06-bind-errors/13-symlink-loop-gives-eloop.case");
TEST_P(BindPathLookupTest, SymlinkLoopGivesEloop) {
  const std::string a = here().path_name("loop-a");
  const std::string b = here().path_name("loop-b");
  make_symlink(b, a);  // a -> b
  make_symlink(a, b);  // b -> a
  Fd fd = fresh_socket();
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(a + "/sock")), FailsWith(ELOOP));
}

// ---------------------------------------------------------------------------------------
// EACCES: directory permissions. Root passes every permission check (CAP_DAC_OVERRIDE), so
// when the suite runs as root the binds are made by a peer that has become nobody.

class BindPermissionTest : public BindTest {};
INSTANTIATE_TEST_SUITE_P(Types, BindPermissionTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

constexpr uid_t kNobody = 65534;

// In a peer: if running as root, becomes nobody (no supplementary groups) so that file
// permissions apply. Returns "" on success, or why it could not.
std::string give_up_root() {
  if (::geteuid() != 0) return {};
  if (::setgroups(0, nullptr) != 0) return "setgroups(0, NULL): " + errno_name(errno);
  if (::setgid(kNobody) != 0) return fmt::format("setgid({}): {}", kNobody, errno_name(errno));
  if (::setuid(kNobody) != 0) return fmt::format("setuid({}): {}", kNobody, errno_name(errno));
  return {};
}

// Runs `body` in a peer without root privileges. Returns "" when it ran, or why it could not.
std::string run_unprivileged(Case& here, const std::function<void()>& body) {
  Peer& peer = here.fork_peer("unprivileged", [&](PeerSelf& self) {
    const std::string why_not = give_up_root();
    self.report("privileges", why_not.empty() ? "dropped" : why_not);
    if (why_not.empty()) body();
  });
  const std::string outcome = peer.value("privileges");
  peer.expect_clean_exit();
  return outcome == "dropped" ? "" : outcome;
}

SOCKSPEC_RULE(BindPermissionTest, NoSearchPermissionOnDirectory,
              .text =
                  "bind() to a pathname inside a directory the caller may not search (no x "
                  "permission) fails with EACCES",
              .citation =
                  "bind(2) ERRORS EACCES (\"search permission is denied on a component of the path "
                  "prefix\"); path_resolution(7)",
              .catalogue = "BE-11",
              .see_also = "cases/13-permissions/01-bind-needs-search-permission.case");
TEST_P(BindPermissionTest, NoSearchPermissionOnDirectory) {
  const std::string closed = here().path_name("no-search");  // rw for all, x for none
  const std::string open = here().path_name("open");
  make_directory(closed, 0666);
  make_directory(open, 0777);
  const int socket_type = type();
  const std::string why_not = run_unprivileged(here(), [&] {
    Fd fd = open_socket(socket_type);
    EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(closed + "/sock")), FailsWith(EACCES));
    // The same caller can bind where it may search and write: the directory made the difference.
    EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(open + "/sock")), Succeeds());
  });
  if (!why_not.empty())
    GTEST_SKIP() << "cannot drop root privileges in a peer (" << why_not
                 << "); run as an unprivileged user, or as root with CAP_SETUID and CAP_SETGID";
}

SOCKSPEC_RULE(
    BindPermissionTest, NoWritePermissionOnDirectory,
    .text =
        "bind() that would create the socket file in a directory the caller may not "
        "write fails with EACCES",
    .citation =
        "unix(7) \"Pathname socket ownership and permissions\" (creation needs write and "
        "search permission on the directory); vfs_mknod() -> may_create()",
    .catalogue = "BE-12",
    .see_also = "cases/13-permissions/02-bind-needs-write-permission-on-the-directory.case");
TEST_P(BindPermissionTest, NoWritePermissionOnDirectory) {
  const std::string read_only = here().path_name("no-write");  // r-x for all
  const std::string open = here().path_name("open");
  make_directory(read_only, 0555);
  make_directory(open, 0777);
  const int socket_type = type();
  const std::string why_not = run_unprivileged(here(), [&] {
    Fd fd = open_socket(socket_type);
    EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(read_only + "/sock")),
                FailsWith(EACCES));
    EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(open + "/sock")), Succeeds());
  });
  if (!why_not.empty())
    GTEST_SKIP() << "cannot drop root privileges in a peer (" << why_not
                 << "); run as an unprivileged user, or as root with CAP_SETUID and CAP_SETGID";
  EXPECT_FALSE(look_up(read_only + "/sock"));
}

// ---------------------------------------------------------------------------------------
// EROFS: the socket file would be created on a read-only filesystem.

class BindReadOnlyFsTest : public BindTest {};
INSTANTIATE_TEST_SUITE_P(Types, BindReadOnlyFsTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

// Runs `body` in a peer that sees a tmpfs on `mount_point` (a new directory), first writable
// while `while_writable` runs, then remounted read-only. The mount lives and dies with the
// peer's mount namespace. Returns "" when `body` ran, or why it could not.
std::string run_on_read_only_tmpfs(Case& here, const std::string& mount_point,
                                   const std::function<void()>& while_writable,
                                   const std::function<void()>& body) {
  make_directory(mount_point, 0755);
  Peer& peer = here.fork_peer("mounter", [&](PeerSelf& self) {
    std::string why_not = enter_private_mount_namespace();
    if (why_not.empty() && ::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=64k") != 0)
      why_not = "mount(tmpfs): " + errno_name(errno);
    if (why_not.empty()) {
      while_writable();
      if (::mount(nullptr, mount_point.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0)
        why_not = "mount(MS_REMOUNT|MS_RDONLY): " + errno_name(errno);
    }
    self.report("mount", why_not.empty() ? "read-only" : why_not);
    if (why_not.empty()) body();
  });
  const std::string outcome = peer.value("mount");
  peer.expect_clean_exit();
  return outcome == "read-only" ? "" : outcome;
}

SOCKSPEC_RULE(BindReadOnlyFsTest, NewNameOnReadOnlyFilesystem,
              .text =
                  "bind() that would create the socket file on a read-only filesystem fails with "
                  "EROFS",
              .citation =
                  "bind(2) ERRORS EROFS (\"the socket inode would reside on a read-only "
                  "filesystem\"); kern_path_create() -> filename_create() -> mnt_want_write()",
              .catalogue = "BE-13");
TEST_P(BindReadOnlyFsTest, NewNameOnReadOnlyFilesystem) {
  const std::string mount_point = here().path_name("ro");
  const int socket_type = type();
  const std::string why_not = run_on_read_only_tmpfs(
      here(), mount_point, [] {},
      [&] {
        Fd fd = open_socket(socket_type);
        EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(mount_point + "/sock")),
                    FailsWith(EROFS));
      });
  if (!why_not.empty())
    GTEST_SKIP() << "cannot mount a read-only tmpfs in a peer (" << why_not
                 << "); run as root with CAP_SYS_ADMIN, or allow user namespaces "
                    "(sysctl user.max_user_namespaces > 0)";
}

// filename_create() takes note of a read-only mount but reports it only after looking the
// name up, so an existing name wins.
SOCKSPEC_RULE(BindReadOnlyFsTest, ExistingNameOnReadOnlyFilesystem,
              .text =
                  "bind() to a name that already exists on a read-only filesystem fails with "
                  "EADDRINUSE, not EROFS: the name is checked before the filesystem's writability",
              .citation =
                  "kernel: filename_create() (EEXIST before the deferred mnt_want_write() error), "
                  "unix_bind_bsd() maps EEXIST to EADDRINUSE",
              .catalogue = "BE-13");
TEST_P(BindReadOnlyFsTest, ExistingNameOnReadOnlyFilesystem) {
  const std::string mount_point = here().path_name("ro");
  const std::string existing = mount_point + "/existing";
  const int socket_type = type();
  const std::string why_not = run_on_read_only_tmpfs(
      here(), mount_point, [&] { make_regular_file(existing); },
      [&] {
        Fd fd = open_socket(socket_type);
        EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(existing)), FailsWith(EADDRINUSE));
      });
  if (!why_not.empty())
    GTEST_SKIP() << "cannot mount a read-only tmpfs in a peer (" << why_not
                 << "); run as root with CAP_SYS_ADMIN, or allow user namespaces "
                    "(sysctl user.max_user_namespaces > 0)";
}

// ---------------------------------------------------------------------------------------
// EINVAL: the address is malformed, or the socket already has a name.

class BindInvalidTest : public BindTest {};
INSTANTIATE_TEST_SUITE_P(Types, BindInvalidTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

SOCKSPEC_RULE(BindInvalidTest, SecondPathnameBind,
              .text =
                  "bind() on a socket already bound to a pathname fails with EINVAL when the new "
                  "pathname is free, and leaves no file at the new pathname",
              .citation =
                  "bind(2) ERRORS EINVAL (\"the socket is already bound to an address\"); "
                  "unix_bind_bsd() (makes the file, then finds u->addr set and unlinks it)",
              .catalogue = "BE-05",
              .see_also =
                  "cases/06-bind-errors/05-second-bind-gives-einval.case, "
                  "cases/06-bind-errors/09-autobind-names-a-socket-once.case");
TEST_P(BindInvalidTest, SecondPathnameBind) {
  const std::string first = here().path_name("first");
  const std::string second = here().path_name("second");
  Fd fd = fresh_socket();
  ASSERT_THAT(call::bind(fd.get(), UnixAddress::pathname(first)), Succeeds());
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(second)), FailsWith(EINVAL));
  EXPECT_FALSE(look_up(second)) << "the refused bind() left " << second << " behind";
  EXPECT_EQ(name_of(fd.get()), UnixAddress::pathname(first));
}

SOCKSPEC_RULE(BindInvalidTest, SecondBindToExistingPathname,
              .text =
                  "bind() on an already bound socket to a pathname that exists fails with "
                  "EADDRINUSE, not EINVAL: the file is created before the socket's state is "
                  "looked at",
              .citation =
                  "kernel: unix_bind_bsd() (vfs_mknod() before the u->addr check); bind(2) ERRORS "
                  "does not order the two errors",
              .catalogue = "BE-06",
              .see_also = "cases/06-bind-errors/06-second-bind-to-an-existing-path.case");
TEST_P(BindInvalidTest, SecondBindToExistingPathname) {
  const std::string first = here().path_name("first");
  const std::string file = here().path_name("file");
  make_regular_file(file);
  Fd fd = fresh_socket();
  ASSERT_THAT(call::bind(fd.get(), UnixAddress::pathname(first)), Succeeds());
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(file)), FailsWith(EADDRINUSE));
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(first)), FailsWith(EADDRINUSE));
}

SOCKSPEC_RULE(BindInvalidTest, SecondBindAfterAbstractName,
              .text =
                  "bind() on a socket already bound to an abstract name fails with EINVAL, for "
                  "another abstract name, the same name, or a free pathname (which is not left "
                  "behind)",
              .citation =
                  "bind(2) ERRORS EINVAL; unix_bind_abstract() (u->addr is checked before the "
                  "name), unix_bind_bsd()",
              .catalogue = "BE-05, BE-06",
              .see_also =
                  "cases/06-bind-errors/05-second-bind-gives-einval.case, "
                  "cases/06-bind-errors/06-second-bind-to-an-existing-path.case, "
                  "cases/06-bind-errors/09-autobind-names-a-socket-once.case");
TEST_P(BindInvalidTest, SecondBindAfterAbstractName) {
  const UnixAddress name = UnixAddress::abstract(here().abstract_name("first"));
  const std::string path = here().path_name("second");
  Fd fd = fresh_socket();
  ASSERT_THAT(call::bind(fd.get(), name), Succeeds());
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::abstract(here().abstract_name("second"))),
              FailsWith(EINVAL));
  EXPECT_THAT(call::bind(fd.get(), name), FailsWith(EINVAL));
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(path)), FailsWith(EINVAL));
  EXPECT_FALSE(look_up(path)) << "the refused bind() left " << path << " behind";
  EXPECT_EQ(name_of(fd.get()), name);
}

SOCKSPEC_RULE(BindInvalidTest, AddrlenLargerThanSockaddrUn,
              .text =
                  "bind() with addrlen larger than sizeof(struct sockaddr_un) fails with EINVAL "
                  "and creates no file",
              .citation =
                  "bind(2) ERRORS EINVAL (\"addrlen is wrong\"); unix_validate_addr() (addr_len > "
                  "sizeof(*sunaddr)), which both lengths tried reach: 111 and 128 = "
                  "sizeof(struct sockaddr_storage), the most move_addr_to_kernel() passes on",
              .catalogue = "AD-10, BE-14, BE-16",
              .see_also = "cases/06-bind-errors/07-addrlen-larger-than-sockaddr-un.case");
TEST_P(BindInvalidTest, AddrlenLargerThanSockaddrUn) {
  const std::string path = here().path_name("sock");
  const UnixAddress address = UnixAddress::pathname(path);
  Fd fd = fresh_socket();
  EXPECT_THAT(call::bind(fd.get(), address.with_length(sizeof(sockaddr_un) + 1)),
              FailsWith(EINVAL));
  EXPECT_THAT(call::bind(fd.get(), address.with_length(sizeof(sockaddr_storage))),
              FailsWith(EINVAL));
  EXPECT_FALSE(look_up(path));
}

SOCKSPEC_RULE(BindInvalidTest, FamilyIsNotAfUnix,
              .text =
                  "bind() of an AF_UNIX socket to an address whose sun_family is not AF_UNIX fails "
                  "with EINVAL, also when addrlen is sizeof(sa_family_t) (no autobind then)",
              .citation =
                  "unix(7) ERRORS EINVAL (\"the value AF_UNIX was not specified\"); unix_bind(), "
                  "unix_validate_addr()",
              .catalogue = "BE-15");
TEST_P(BindInvalidTest, FamilyIsNotAfUnix) {
  const std::string path = here().path_name("sock");
  Fd fd = fresh_socket();
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(path).with_family(AF_INET)),
              FailsWith(EINVAL));
  EXPECT_FALSE(look_up(path));
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::autobind().with_family(AF_INET)),
              FailsWith(EINVAL));
  EXPECT_TRUE(name_of(fd.get()).is_unnamed());
}

// The kernel copies only addrlen bytes, so with addrlen 0 or 1 it has not even a whole
// sun_family to look at: unix_bind() sees neither the autobind length nor a valid one.
SOCKSPEC_RULE(BindInvalidTest, AddrlenShorterThanFamily,
              .text =
                  "bind() with addrlen 0 or 1 (shorter than sa_family_t) fails with EINVAL and "
                  "leaves the socket unnamed",
              .citation =
                  "bind(2) ERRORS EINVAL (\"addrlen is wrong\"); unix_bind(), unix_validate_addr() "
                  "(addr_len <= offsetof(struct sockaddr_un, sun_path))",
              .catalogue = "BE-17",
              .see_also = "cases/06-bind-errors/08-addrlen-shorter-than-the-family.case");
TEST_P(BindInvalidTest, AddrlenShorterThanFamily) {
  Fd fd = fresh_socket();
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::autobind().with_length(0)), FailsWith(EINVAL));
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::autobind().with_length(1)), FailsWith(EINVAL));
  EXPECT_TRUE(name_of(fd.get()).is_unnamed());
}

// ---------------------------------------------------------------------------------------
// The longest pathname: all 108 bytes of sun_path.

class BindLongPathTest : public BindTest {};
INSTANTIATE_TEST_SUITE_P(Types, BindLongPathTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

// A relative name of `length` bytes, unique in the case dir.
std::string name_of_length(Case& here, std::size_t length) {
  std::string name = here.path_name("long");
  name.resize(length, 'L');
  return name;
}

// unix(7) "Pathname sockets" asks for a NUL-terminated sun_path, and BUGS says Linux appends
// a NUL when none is given; with 108 non-NUL bytes that NUL falls beyond sun_path, and the
// returned address is one byte longer than sockaddr_un. unix_mkname_bsd() does exactly that:
// it writes the NUL at sun_path[108] (inside the kernel's sockaddr_storage) and stores an
// address of 2 + 108 + 1 = 111 bytes, which getsockname() reports.
SOCKSPEC_RULE(BindLongPathTest, PathFillingSunPathWithoutNul,
              .text =
                  "bind() to a pathname of 108 bytes that fills sun_path with no NUL (addrlen 110) "
                  "succeeds, and getsockname() reports addrlen 111: the 108 bytes plus the NUL the "
                  "kernel appended",
              .citation =
                  "unix(7) BUGS (Linux appends a null terminator; a 108-byte path comes back "
                  "without one in a sockaddr_un); kernel: unix_mkname_bsd()",
              .catalogue = "AD-11, AD-15",
              .see_also = "cases/02-addresses/08-pathname-may-fill-all-108-bytes.case");
TEST_P(BindLongPathTest, PathFillingSunPathWithoutNul) {
  const std::string path = name_of_length(here(), UnixAddress::kMaxPath);
  const UnixAddress address = UnixAddress::pathname(path);
  ASSERT_EQ(address.length(), sizeof(sockaddr_un));  // no room for a NUL
  Fd fd = fresh_socket();
  ASSERT_THAT(call::bind(fd.get(), address), Succeeds());
  EXPECT_TRUE(is_socket_file(path));

  const UnixAddress name = name_of(fd.get());
  EXPECT_EQ(name.length(), sizeof(sockaddr_un) + 1);
  EXPECT_EQ(name.path_bytes(), path + std::string(1, '\0'));

  // With the usual buffer of sizeof(struct sockaddr_un), the returned addrlen exceeds the
  // buffer and sun_path holds the 108 bytes with no NUL: unix(7) BUGS.
  sockaddr_un exact{};
  socklen_t length = sizeof(exact);
  ASSERT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&exact), &length), 0)
      << errno_name(errno);
  EXPECT_EQ(length, sizeof(sockaddr_un) + 1);
  EXPECT_EQ(std::memchr(exact.sun_path, '\0', sizeof(exact.sun_path)), nullptr);
}

SOCKSPEC_RULE(BindLongPathTest, LongestPathWithNul,
              .text =
                  "bind() to a pathname of 107 bytes followed by its NUL (addrlen 110, the whole "
                  "sockaddr_un) succeeds, and getsockname() reports addrlen 110",
              .citation =
                  "unix(7) \"Pathname sockets\" (the pathname with its null byte should not exceed "
                  "sun_path; addrlen offsetof(sun_path) + strlen + 1); unix_mkname_bsd()",
              .catalogue = "AD-02");
TEST_P(BindLongPathTest, LongestPathWithNul) {
  const std::string path = name_of_length(here(), UnixAddress::kMaxPath - 1);
  const UnixAddress address = UnixAddress::pathname(path);
  ASSERT_EQ(address.length(), sizeof(sockaddr_un));
  Fd fd = fresh_socket();
  ASSERT_THAT(call::bind(fd.get(), address), Succeeds());
  EXPECT_TRUE(is_socket_file(path));
  const UnixAddress name = name_of(fd.get());
  EXPECT_EQ(name.length(), sizeof(sockaddr_un));
  EXPECT_EQ(name, address);
}

// ---------------------------------------------------------------------------------------
// Autobind: the kernel picks an abstract name.

class AutobindTest : public BindTest {};
INSTANTIATE_TEST_SUITE_P(Types, AutobindTest, ::testing::ValuesIn(kSocketTypes), SocketTypeName());

// unix_autobind() formats a random 20-bit number with "%05x": lowercase hex, zero-padded.
SOCKSPEC_RULE(
    AutobindTest, AssignsFiveHexDigits,
    .text =
        "bind() with addrlen == sizeof(sa_family_t) gives the socket an abstract name of "
        "a NUL and 5 lowercase hex digits: getsockname() reports addrlen 8",
    .citation = "unix(7) \"Autobind feature\"; kernel: unix_autobind() (sprintf \"%05x\")",
    .linux_note = "5 bytes since Linux 2.3.15 (8 bytes from 2.1.15)", .catalogue = "AD-16",
    .see_also =
        "cases/02-addresses/06-autobind-picks-an-abstract-name.case, "
        "cases/06-bind-errors/09-autobind-names-a-socket-once.case");
TEST_P(AutobindTest, AssignsFiveHexDigits) {
  Fd fd = fresh_socket();
  ASSERT_THAT(call::bind(fd.get(), UnixAddress::autobind()), Succeeds());
  const UnixAddress name = name_of(fd.get());
  EXPECT_EQ(name.length(), sizeof(sa_family_t) + 1 + 5);
  EXPECT_TRUE(name.is_abstract());
  EXPECT_THAT(std::string(name.path_bytes().substr(1)), MatchesRegex("[0-9a-f]{5}"));
}

SOCKSPEC_RULE(
    AutobindTest, AutoboundNameIsAnAbstractName,
    .text =
        "the autobound name is an ordinary abstract name: another socket of the same type "
        "binding it explicitly fails with EADDRINUSE",
    .citation =
        "unix(7) \"Autobind feature\" (\"autobound to an abstract address\"); "
        "unix_bind_abstract()",
    .catalogue = "AD-19");
TEST_P(AutobindTest, AutoboundNameIsAnAbstractName) {
  Fd fd = fresh_socket();
  ASSERT_THAT(call::bind(fd.get(), UnixAddress::autobind()), Succeeds());
  const UnixAddress name = name_of(fd.get());
  Fd other = fresh_socket();
  EXPECT_THAT(call::bind(other.get(), name), FailsWith(EADDRINUSE));
}

// bind(2) lists EINVAL for "already bound", and unix_bind_bsd()/unix_bind_abstract() follow
// it, but unix_autobind() returns 0 when the socket has a name: a repeated autobind, or one
// after an explicit bind, is a successful no-op.
SOCKSPEC_RULE(AutobindTest, AutobindOnNamedSocketIsANoOp,
              .text =
                  "an autobind request (addrlen == sizeof(sa_family_t)) on a socket that already "
                  "has a name succeeds and changes nothing, unlike the EINVAL of bind(2) ERRORS",
              .citation =
                  "kernel: unix_autobind() (returns 0 when u->addr is set); bind(2) ERRORS EINVAL "
                  "says otherwise",
              .catalogue = "AD-16",
              .see_also =
                  "cases/02-addresses/06-autobind-picks-an-abstract-name.case, "
                  "cases/06-bind-errors/09-autobind-names-a-socket-once.case");
TEST_P(AutobindTest, AutobindOnNamedSocketIsANoOp) {
  Fd autobound = fresh_socket();
  ASSERT_THAT(call::bind(autobound.get(), UnixAddress::autobind()), Succeeds());
  const UnixAddress first_name = name_of(autobound.get());
  EXPECT_THAT(call::bind(autobound.get(), UnixAddress::autobind()), Succeeds());
  EXPECT_EQ(name_of(autobound.get()), first_name);

  const UnixAddress path = UnixAddress::pathname(here().path_name("sock"));
  Fd named = fresh_socket();
  ASSERT_THAT(call::bind(named.get(), path), Succeeds());
  EXPECT_THAT(call::bind(named.get(), UnixAddress::autobind()), Succeeds());
  EXPECT_EQ(name_of(named.get()), path);
}

SOCKSPEC_RULE(AutobindTest, ExplicitBindAfterAutobind,
              .text =
                  "bind() to a pathname or an abstract name after an autobind fails with EINVAL; "
                  "the refused pathname is not left behind",
              .citation =
                  "bind(2) ERRORS EINVAL (\"the socket is already bound\"); unix_bind_bsd(), "
                  "unix_bind_abstract()",
              .catalogue = "AD-16, BE-05",
              .see_also =
                  "cases/02-addresses/06-autobind-picks-an-abstract-name.case, "
                  "cases/06-bind-errors/05-second-bind-gives-einval.case, "
                  "cases/06-bind-errors/09-autobind-names-a-socket-once.case");
TEST_P(AutobindTest, ExplicitBindAfterAutobind) {
  const std::string path = here().path_name("sock");
  Fd fd = fresh_socket();
  ASSERT_THAT(call::bind(fd.get(), UnixAddress::autobind()), Succeeds());
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(path)), FailsWith(EINVAL));
  EXPECT_FALSE(look_up(path));
  EXPECT_THAT(call::bind(fd.get(), UnixAddress::abstract(here().abstract_name("late"))),
              FailsWith(EINVAL));
}

// unix(7) SO_PASSCRED: "When this option is set and the socket is not yet connected, a unique
// name in the abstract namespace will be generated automatically." The kernel does it when the
// socket reaches out (unix_stream_connect(), unix_dgram_connect(), unix_dgram_sendmsg()), not
// at setsockopt() time; without SO_PASSCRED (or SO_PASSPIDFD) the socket stays unnamed.
SOCKSPEC_RULE(AutobindTest, PasscredAutobindsOnConnectOrSend,
              .text =
                  "an unbound socket with SO_PASSCRED is autobound when it connects (or, for "
                  "SOCK_DGRAM, sends to an address); setsockopt() alone does not name it, and a "
                  "socket without SO_PASSCRED stays unnamed",
              .citation =
                  "unix(7) SO_PASSCRED and \"Autobind feature\"; kernel: unix_stream_connect(), "
                  "unix_dgram_sendmsg() (autobind when SOCK_PASSCRED is set and u->addr is not)",
              .linux_note = "SO_PASSPIDFD autobinds the same way since Linux 6.5",
              .catalogue = "AD-20");
TEST_P(AutobindTest, PasscredAutobindsOnConnectOrSend) {
  const UnixAddress target_name = UnixAddress::pathname(here().path_name("target"));
  Fd target = fresh_socket();
  ASSERT_THAT(call::bind(target.get(), target_name), Succeeds());
  const bool connection_oriented = type() != SOCK_DGRAM;
  if (connection_oriented) {
    ASSERT_THAT(call::listen(target.get(), 4), Succeeds());
  }
  auto reach_target = [&](int fd) {
    return connection_oriented ? call::connect(fd, target_name)
                               : call::sendto(fd, "x", 0, target_name);
  };

  Fd plain = fresh_socket();
  Fd passcred = fresh_socket();
  EXPECT_THAT(call::setsockopt(passcred.get(), SOL_SOCKET, SO_PASSCRED, 1), Succeeds());
  EXPECT_TRUE(name_of(passcred.get()).is_unnamed()) << "setsockopt(SO_PASSCRED) named the socket";

  EXPECT_THAT(reach_target(plain.get()), Succeeds());
  EXPECT_THAT(reach_target(passcred.get()), Succeeds());
  EXPECT_TRUE(name_of(plain.get()).is_unnamed());
  const UnixAddress name = name_of(passcred.get());
  EXPECT_TRUE(name.is_abstract());
  EXPECT_EQ(name.length(), sizeof(sa_family_t) + 1 + 5);
}

SOCKSPEC_RULE(AutobindTest, AutoboundNameIsReachable,
              .text =
                  "an autobound name can be reached like a chosen one: connect() to it (stream, "
                  "seqpacket) or sendto() it (dgram) gets to the socket that was autobound",
              .citation =
                  "unix(7) \"Autobind feature\" (the name is an abstract address); "
                  "unix_autobind() inserts it in the abstract table that unix_find_abstract() "
                  "searches",
              .catalogue = "AD-17");
TEST_P(AutobindTest, AutoboundNameIsReachable) {
  Fd autobound = fresh_socket();
  ASSERT_THAT(call::bind(autobound.get(), UnixAddress::autobind()), Succeeds());
  const UnixAddress name = name_of(autobound.get());
  Fd peer = fresh_socket();
  if (type() == SOCK_DGRAM) {
    EXPECT_THAT(call::sendto(peer.get(), "found", 0, name), Returns(5));
    EXPECT_THAT(call::recv(autobound.get(), 16, MSG_DONTWAIT), Receives("found"));
    return;
  }
  ASSERT_THAT(call::listen(autobound.get(), 4), Succeeds());
  ASSERT_THAT(call::connect(peer.get(), name), Succeeds());  // or the accept waits for ever
  const CallResult accepted = call::accept4(autobound.get(), SOCK_NONBLOCK);
  ASSERT_THAT(accepted, Succeeds());
  Fd connection(static_cast<int>(accepted.value));
  EXPECT_TRUE(name_of(peer.get()).is_unnamed());
  EXPECT_EQ(*must(call::getpeername(peer.get())).address, name);
}

// Names are drawn at random (get_random_u32() & 0xFFFFF) and retried while taken, so two
// sockets never share one; 64 of them would collide by chance if the kernel did not check.
SOCKSPEC_RULE(AutobindTest, EveryAutobindGetsANameOfItsOwn,
              .text =
                  "every autobind gives a name no other socket has: 64 autobound sockets "
                  "have 64 different names",
              .citation =
                  "unix(7) \"Autobind feature\" (\"a unique name\"); unix_autobind() (retries "
                  "while __unix_find_socket_byname() finds the name taken)",
              .catalogue = "AD-18");
TEST_P(AutobindTest, EveryAutobindGetsANameOfItsOwn) {
  std::vector<Fd> sockets;
  std::set<std::string> names;
  for (int i = 0; i < 64; ++i) {
    sockets.push_back(fresh_socket());
    ASSERT_THAT(call::bind(sockets.back().get(), UnixAddress::autobind()), Succeeds());
    names.insert(std::string(name_of(sockets.back().get()).path_bytes()));
  }
  EXPECT_EQ(names.size(), sockets.size()) << "two autobound sockets share a name";
}

class BindAbstractTest : public BindTest {};
INSTANTIATE_TEST_SUITE_P(Types, BindAbstractTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

// A sockaddr_un left zeroed, passed with its full size: sun_path[0] is NUL, so it is an
// abstract address, and its name is the other 107 bytes, all NUL. The name is global to the
// network namespace, so the case takes a namespace of its own.
SOCKSPEC_RULE(BindAbstractTest, AllNulNameBinds,
              .text =
                  "bind() of a zeroed sockaddr_un (sun_family AF_UNIX) with addrlen "
                  "sizeof(struct sockaddr_un) succeeds: the name is 107 NUL bytes, reported "
                  "back with addrlen 110, and held like any abstract name",
              .citation =
                  "unix(7) \"Abstract sockets\" (sun_path[0] is a null byte; the name is the "
                  "remaining addrlen bytes); unix_bind_abstract()",
              .catalogue = "AD-09");
TEST_P(BindAbstractTest, AllNulNameBinds) {
  SOCKSPEC_REQUIRES("netns");
  const std::string why_not = enter_new_network_namespace();
  if (!why_not.empty()) GTEST_SKIP() << why_not;
  const UnixAddress all_nul = UnixAddress::abstract(std::string(UnixAddress::kMaxPath - 1, '\0'));
  ASSERT_EQ(all_nul.length(), sizeof(sockaddr_un));
  Fd fd = fresh_socket();
  ASSERT_THAT(call::bind(fd.get(), all_nul), Succeeds());
  EXPECT_EQ(name_of(fd.get()), all_nul);
  Fd other = fresh_socket();
  EXPECT_THAT(call::bind(other.get(), all_nul), FailsWith(EADDRINUSE));
  // One byte shorter is another name.
  EXPECT_THAT(call::bind(other.get(), all_nul.with_length(sizeof(sockaddr_un) - 1)), Succeeds());
}

// ---------------------------------------------------------------------------------------
// The socket file's mode.

class BindFileModeTest : public BindTest {};
INSTANTIATE_TEST_SUITE_P(Types, BindFileModeTest, ::testing::ValuesIn(kSocketTypes),
                         SocketTypeName());

SOCKSPEC_RULE(
    BindFileModeTest, ModeIsAllPermissionsMinusUmask,
    .text = "the socket file made by bind() is a socket (S_ISSOCK) with mode 0777 & ~umask",
    .citation =
        "unix(7) \"Pathname socket ownership and permissions\" (\"all permissions "
        "enabled, other than those that are turned off by the process umask\"); "
        "unix_bind_bsd() (S_IFSOCK | (i_mode & ~current_umask()))",
    .catalogue = "AD-31");
TEST_P(BindFileModeTest, ModeIsAllPermissionsMinusUmask) {
  struct Expected {
    mode_t umask;
    mode_t mode;
    std::string path;
  };
  const std::vector<Expected> expected = {{0, 0777, here().path_name("umask-000")},
                                          {022, 0755, here().path_name("umask-022")},
                                          {077, 0700, here().path_name("umask-077")}};
  const int socket_type = type();
  // The umask belongs to the process: a peer changes its own, not the controller's.
  Peer& binder = here().fork_peer("binder", [&](PeerSelf&) {
    for (const auto& e : expected) {
      ::umask(e.umask);
      Fd fd = open_socket(socket_type);
      EXPECT_THAT(call::bind(fd.get(), UnixAddress::pathname(e.path)), Succeeds())
          << "with umask " << fmt::format("{:03o}", e.umask);
    }
  });
  binder.expect_clean_exit();
  for (const auto& e : expected) {
    const auto st = look_up(e.path);
    ASSERT_TRUE(st) << e.path << " was not created";
    EXPECT_TRUE(S_ISSOCK(st->st_mode)) << e.path << " is not a socket file";
    EXPECT_EQ(fmt::format("{:04o}", st->st_mode & 07777), fmt::format("{:04o}", e.mode))
        << "mode of the socket file bound with umask " << fmt::format("{:03o}", e.umask);
  }
}

}  // namespace
}  // namespace sockspec
