// AF_UNIX addresses with exact control of addrlen.
//
// unix(7) "Address format": the kernel tells the three kinds of address apart by addrlen
// and the first byte of sun_path, not by a NUL terminator:
//   pathname  sun_path is a filesystem path; addrlen usually includes the trailing NUL;
//   abstract  sun_path[0] == '\0'; the name is the next addrlen - sizeof(sa_family_t) - 1
//             bytes, embedded NULs included (they are significant);
//   unnamed   addrlen == sizeof(sa_family_t); on bind() this asks for an autobind.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace sockspec {

class UnixAddress {
 public:
  static constexpr socklen_t kPathOffset = offsetof(sockaddr_un, sun_path);
  static constexpr std::size_t kMaxPath = sizeof(sockaddr_un::sun_path);  // 108 on Linux

  // A pathname; addrlen counts the bytes of the path and its NUL, unless the path fills all
  // 108 bytes of sun_path, in which case there is no room for a NUL and addrlen is 110.
  static UnixAddress pathname(std::string_view path);
  // An abstract name: sun_path[0] is '\0' and `name` follows byte for byte.
  static UnixAddress abstract(std::string_view name);
  // addrlen == sizeof(sa_family_t): what getsockname() reports for an unnamed socket.
  static UnixAddress unnamed();
  // addrlen == 0: what recvfrom()/recvmsg() report when the sender has no address at all.
  static UnixAddress none();
  // The same bytes as unnamed(), used as a request: bind() then picks an abstract name.
  static UnixAddress autobind();
  // What the kernel wrote back (getsockname, getpeername, accept, recvfrom).
  static UnixAddress from_kernel(const sockaddr_storage& storage, socklen_t length);

  // Copies with one field changed, to reach errno paths.
  UnixAddress with_length(socklen_t length) const;
  UnixAddress with_family(sa_family_t family) const;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }
  sa_family_t family() const { return storage_.ss_family; }
  bool is_abstract() const;
  bool is_unnamed() const { return length_ == sizeof(sa_family_t); }
  // The sun_path bytes that addrlen covers (for an abstract name, starting with the '\0').
  std::string_view path_bytes() const;

  // `"srv"`, `@"name\0x"` (abstract, NULs escaped), `unnamed`, `none`; plus `/addrlen=N` whenever
  // addrlen is not the usual one for that address.
  std::string describe() const;

  friend bool operator==(const UnixAddress& a, const UnixAddress& b) {
    return a.length_ == b.length_ && a.path_bytes() == b.path_bytes() && a.family() == b.family();
  }

 private:
  // Larger than sockaddr_un, so an address longer than sockaddr_un can be built on purpose.
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
  socklen_t usual_length_ = 0;  // what the builder chose, to flag a hand-set addrlen
};

}  // namespace sockspec
