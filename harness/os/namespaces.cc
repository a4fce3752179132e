#include "os/namespaces.h"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "os/case_error.h"
#include "os/names.h"

namespace sockspec {

namespace {

void write_proc_file(const char* path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  file.flush();
  if (!file)
    throw CaseError(fmt::format("cannot write \"{}\" to {}: {}", text, path, std::strerror(errno)));
}

}  // namespace

std::string enter_private_mount_namespace() {
  if (::unshare(CLONE_NEWNS) != 0) {
    const int plain_error = errno;
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      return fmt::format("unshare(CLONE_NEWNS): {}; unshare(CLONE_NEWUSER|CLONE_NEWNS): {}",
                         errno_name(plain_error), errno_name(errno));
    write_proc_file("/proc/self/setgroups", "deny");
    write_proc_file("/proc/self/uid_map", fmt::format("{} {} 1", uid, uid));
    write_proc_file("/proc/self/gid_map", fmt::format("{} {} 1", gid, gid));
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return "mount(/, MS_REC|MS_PRIVATE): " + errno_name(errno);
  return {};
}

std::string enter_new_network_namespace() {
  if (::unshare(CLONE_NEWNET) == 0) return {};
  const int plain_error = errno;
  if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) return {};
  return fmt::format("unshare(CLONE_NEWNET): {}; unshare(CLONE_NEWUSER|CLONE_NEWNET): {}",
                     errno_name(plain_error), errno_name(errno));
}

}  // namespace sockspec
