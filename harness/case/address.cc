#include "case/address.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "os/quote.h"

namespace sockspec {

namespace {
char* sun_path(sockaddr_storage& storage) {
  return reinterpret_cast<sockaddr_un*>(&storage)->sun_path;
}
}  // namespace

UnixAddress UnixAddress::pathname(std::string_view path) {
  if (path.size() > kMaxPath)
    throw std::invalid_argument(fmt::format("path of {} bytes does not fit sun_path", path.size()));
  UnixAddress a;
  a.storage_.ss_family = AF_UNIX;
  std::memcpy(sun_path(a.storage_), path.data(), path.size());
  const std::size_t with_nul = std::min(path.size() + 1, kMaxPath);
  a.length_ = a.usual_length_ = static_cast<socklen_t>(kPathOffset + with_nul);
  return a;
}

UnixAddress UnixAddress::abstract(std::string_view name) {
  if (name.size() + 1 > kMaxPath)
    throw std::invalid_argument(fmt::format("abstract name of {} bytes is too long", name.size()));
  UnixAddress a;
  a.storage_.ss_family = AF_UNIX;
  std::memcpy(sun_path(a.storage_) + 1, name.data(), name.size());
  a.length_ = a.usual_length_ = static_cast<socklen_t>(kPathOffset + 1 + name.size());
  return a;
}

UnixAddress UnixAddress::unnamed() {
  UnixAddress a;
  a.storage_.ss_family = AF_UNIX;
  a.length_ = a.usual_length_ = sizeof(sa_family_t);
  return a;
}

UnixAddress UnixAddress::autobind() {
  return unnamed();
}

UnixAddress UnixAddress::none() {
  return UnixAddress();
}

UnixAddress UnixAddress::from_kernel(const sockaddr_storage& storage, socklen_t length) {
  UnixAddress a;
  a.storage_ = storage;
  a.length_ = a.usual_length_ = std::min<socklen_t>(length, sizeof(storage));
  return a;
}

UnixAddress UnixAddress::with_length(socklen_t length) const {
  if (length > sizeof(storage_))
    throw std::invalid_argument(fmt::format("addrlen {} exceeds sockaddr_storage", length));
  UnixAddress a = *this;
  a.length_ = length;
  return a;
}

UnixAddress UnixAddress::with_family(sa_family_t family) const {
  UnixAddress a = *this;
  a.storage_.ss_family = family;
  return a;
}

bool UnixAddress::is_abstract() const {
  return length_ > sizeof(sa_family_t) &&
         reinterpret_cast<const sockaddr_un*>(&storage_)->sun_path[0] == '\0';
}

std::string_view UnixAddress::path_bytes() const {
  if (length_ <= kPathOffset) return {};
  const auto* path = reinterpret_cast<const char*>(&storage_) + kPathOffset;
  return {path, length_ - kPathOffset};
}

std::string UnixAddress::describe() const {
  std::string text;
  if (length_ == 0) {
    text = "none";
  } else if (family() != AF_UNIX) {
    text = fmt::format("{{family={}}}", family());
  } else if (is_unnamed() || length_ < sizeof(sa_family_t)) {
    text = "unnamed";
  } else if (is_abstract()) {
    text = "@" + quote_bytes(path_bytes().substr(1));
  } else {
    std::string_view path = path_bytes();
    path = path.substr(0, path.find('\0'));
    text = quote_bytes(path);
  }
  if (length_ != usual_length_) text += fmt::format("/addrlen={}", length_);
  return text;
}

}  // namespace sockspec
