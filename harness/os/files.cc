#include "os/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace sockspec {

std::string read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string text;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

bool write_file(const std::filesystem::path& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  return ::close(fd) == 0 && left == 0;
}

std::string log_tail(const std::filesystem::path& path, std::size_t lines) {
  std::vector<std::string> all;
  std::istringstream text(read_file(path));
  for (std::string line; std::getline(text, line);)
    if (!line.empty()) all.push_back(line);
  const std::size_t from = all.size() > lines ? all.size() - lines : 0;
  std::string tail = fmt::format("last lines of {}:", path.string());
  for (std::size_t i = from; i < all.size(); ++i) tail += "\n  | " + all[i];
  return tail;
}

}  // namespace sockspec
