// Memory a case passes to a call when where the bytes lie is what the rule is about: pieces
// that are not adjacent, a page the kernel may not read, a shared page past its file's end.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include <fmt/format.h>

#include "os/case_error.h"
#include "os/names.h"

namespace sockspec {

inline std::size_t page_size() {
  return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// An mmap() of `length` bytes, unmapped when it goes: anonymous by default, or of a file.
class Mapping {
 public:
  explicit Mapping(std::size_t length, int prot = PROT_READ | PROT_WRITE,
                   int flags = MAP_PRIVATE | MAP_ANONYMOUS, int fd = -1)
      : length_(length) {
    void* base = ::mmap(nullptr, length, prot, flags, fd, 0);
    if (base == MAP_FAILED)
      throw CaseError(fmt::format("mmap of {} bytes: {}", length, errno_name(errno)));
    base_ = static_cast<char*>(base);
  }
  ~Mapping() { ::munmap(base_, length_); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  char* at(std::size_t offset) const { return base_ + offset; }

 private:
  char* base_ = nullptr;
  std::size_t length_;
};

// Two pages: the first readable and writable, the second PROT_NONE. The kernel cannot read
// or write the second, so a pointer into it makes copy_from_user()/copy_to_user() fail; an
// object placed at the end of the first runs into it.
class GuardedPages {
 public:
  GuardedPages() : pages_(2 * page_size()) {
    if (::mprotect(pages_.at(page_size()), page_size(), PROT_NONE) != 0)
      throw CaseError("mprotect(PROT_NONE): " + errno_name(errno));
  }
  // The start of the PROT_NONE page.
  void* guard() const { return pages_.at(page_size()); }
  template <typename T>
  T* guard_as() const {
    return static_cast<T*>(guard());
  }
  // The last `size` bytes of the accessible page: whatever follows them is the guard.
  void* just_before_guard(std::size_t size) const { return pages_.at(page_size() - size); }

 private:
  Mapping pages_;
};

}  // namespace sockspec
