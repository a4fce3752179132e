// Ancillary data written and read cmsg by cmsg, for the cases whose rule is about the control
// buffer itself: a cmsg_len the kernel must refuse, two SCM_RIGHTS in one message, an option
// that adds a cmsg of its own (SCM_PIDFD, SCM_INQ, SCM_TIMESTAMP). call::sendmsg() and
// call::recvmsg_with_control() cover the well-formed SCM_RIGHTS and SCM_CREDENTIALS.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "case/call.h"

namespace sockspec {

// One cmsg as the kernel wrote it, or as a case writes it.
struct ControlItem {
  int level = SOL_SOCKET;
  int type = 0;
  std::string data;  // the bytes after the cmsghdr, cmsg_len - CMSG_LEN(0) of them

  // The payload read as an array of T (SCM_RIGHTS: int, SCM_INQ: int).
  template <typename T>
  std::vector<T> as() const;
};

// A control buffer built item by item, each in its own CMSG_SPACE, 8-byte aligned as the
// kernel expects.
class ControlMessages {
 public:
  // A well-formed cmsg carrying `data`.
  ControlMessages& add(int level, int type, std::string_view data, std::string description);
  ControlMessages& rights(const std::vector<int>& fds);
  ControlMessages& credentials(const ucred& claimed);
  // A cmsghdr whose cmsg_len says `cmsg_len` whatever follows it; `room` bytes of zeros
  // after the header keep the next item's place.
  ControlMessages& header_only(int level, int type, std::size_t cmsg_len, std::size_t room = 0);
  // Extends the buffer to `length` bytes of zeros (a buffer longer than any cmsg in it).
  ControlMessages& pad_to(std::size_t length);

  void* data() { return words_.data(); }
  std::size_t size() const { return size_; }
  // `[SCM_RIGHTS(4, 5), SCM_CREDENTIALS(pid=7 uid=0 gid=0)]`
  std::string describe() const;

 private:
  char* reserve(std::size_t space);

  std::vector<std::uint64_t> words_;
  std::size_t size_ = 0;
  std::vector<std::string> descriptions_;
};

// sendmsg of `bytes` with `control` as its msg_control (or none when it is empty).
CallResult sendmsg_with(int fd, std::string_view bytes, int flags, ControlMessages& control);

// What recvmsg returned, with every cmsg it wrote. A fd the kernel put in an SCM_RIGHTS
// item is open in this process; the caller owns it.
struct ReceivedMessage {
  CallResult result;
  std::vector<ControlItem> items;

  // Every item of this level and type, in order.
  std::vector<ControlItem> all(int level, int type) const;
};

// recvmsg with `length` bytes of data and a control buffer of `control_length` bytes.
ReceivedMessage recvmsg_items(int fd, std::size_t length, int flags, std::size_t control_length);

template <typename T>
std::vector<T> ControlItem::as() const {
  std::vector<T> values(data.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), data.data(), values.size() * sizeof(T));
  return values;
}

}  // namespace sockspec
