#include "os/cleanup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "os/files.h"

namespace sockspec {

namespace {

// /proc/self/mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// Removes `name` in the directory `parent` (open as `parent_fd`), whatever it is, without
// stat(): an unlink, or for a directory its contents and then the directory. stat() is not
// trusted because it is not everywhere what Linux makes it (gVisor 2022's statx() fails with
// EINVAL on a dangling symlink, and C++'s remove_all then quietly removes nothing). A mount in
// the way is detached.
bool remove_entry(int parent_fd, const std::string& parent, const char* name);

bool empty_fd(int dir_fd, const std::string& path) {
  const int listing_fd = ::dup(dir_fd);
  DIR* listing = listing_fd >= 0 ? ::fdopendir(listing_fd) : nullptr;
  if (!listing) {
    if (listing_fd >= 0) ::close(listing_fd);
    return false;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(listing))
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0)
      names.emplace_back(entry->d_name);
  ::closedir(listing);
  bool emptied = true;
  for (const auto& name : names) emptied = remove_entry(dir_fd, path, name.c_str()) && emptied;
  return emptied;
}

bool remove_entry(int parent_fd, const std::string& parent, const char* name) {
  if (::unlinkat(parent_fd, name, 0) == 0) return true;
  const std::string path = parent + "/" + name;
  if (errno == EBUSY) {  // a mount point
    ::umount2(path.c_str(), MNT_DETACH);
    if (::unlinkat(parent_fd, name, 0) == 0 || ::unlinkat(parent_fd, name, AT_REMOVEDIR) == 0)
      return true;
  }
  if (errno != EISDIR && errno != EPERM) return errno == ENOENT;
  const int dir_fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) return false;
  empty_fd(dir_fd, path);
  ::close(dir_fd);
  if (::unlinkat(parent_fd, name, AT_REMOVEDIR) == 0) return true;
  if (errno == EBUSY) {
    ::umount2(path.c_str(), MNT_DETACH);
    return ::unlinkat(parent_fd, name, AT_REMOVEDIR) == 0;
  }
  return false;
}

}  // namespace

std::vector<std::string> mounts_under(const std::filesystem::path& dir) {
  const std::string root = dir.lexically_normal().string();
  std::vector<std::string> found;
  std::istringstream lines(read_file("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    // "ID PARENT MAJ:MIN ROOT MOUNT_POINT ..."
    std::istringstream fields(line);
    std::string id, parent, device, mount_root, point;
    fields >> id >> parent >> device >> mount_root >> point;
    point = unescape(point);
    if (point == root || point.starts_with(root + "/")) found.push_back(point);
  }
  std::sort(found.begin(), found.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return found;
}

std::vector<std::string> detach_mounts_under(const std::filesystem::path& dir) {
  std::vector<std::string> stuck;
  for (const auto& point : mounts_under(dir))
    if (::umount2(point.c_str(), MNT_DETACH) != 0) stuck.push_back(point);
  return stuck;
}

bool empty_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  const bool emptied = empty_fd(fd, dir.string());
  ::close(fd);
  return emptied;
}

bool remove_tree(const std::filesystem::path& dir) {
  detach_mounts_under(dir);
  const std::filesystem::path parent = dir.parent_path();
  const int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool removed = remove_entry(fd, parent.string(), dir.filename().c_str());
  ::close(fd);
  return removed;
}

}  // namespace sockspec
