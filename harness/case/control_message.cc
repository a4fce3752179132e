#include "case/control_message.h"

#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "os/names.h"
#include "os/quote.h"

namespace sockspec {

char* ControlMessages::reserve(std::size_t space) {
  const std::size_t start = size_;
  size_ += space;
  words_.resize((size_ + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
  return reinterpret_cast<char*>(words_.data()) + start;
}

ControlMessages& ControlMessages::add(int level, int type, std::string_view data,
                                      std::string description) {
  char* place = reserve(CMSG_SPACE(data.size()));
  cmsghdr header{};
  header.cmsg_len = CMSG_LEN(data.size());
  header.cmsg_level = level;
  header.cmsg_type = type;
  std::memcpy(place, &header, sizeof header);
  std::memcpy(place + CMSG_LEN(0), data.data(), data.size());
  descriptions_.push_back(std::move(description));
  return *this;
}

ControlMessages& ControlMessages::rights(const std::vector<int>& fds) {
  const std::string_view bytes(reinterpret_cast<const char*>(fds.data()), fds.size() * sizeof(int));
  std::string shown =
      fds.size() > 8 ? fmt::format("{} fds", fds.size()) : fmt::format("{}", fmt::join(fds, ", "));
  return add(SOL_SOCKET, SCM_RIGHTS, bytes, fmt::format("SCM_RIGHTS({})", shown));
}

ControlMessages& ControlMessages::credentials(const ucred& claimed) {
  const std::string_view bytes(reinterpret_cast<const char*>(&claimed), sizeof claimed);
  return add(
      SOL_SOCKET, SCM_CREDENTIALS, bytes,
      fmt::format("SCM_CREDENTIALS(pid={} uid={} gid={})", claimed.pid, claimed.uid, claimed.gid));
}

ControlMessages& ControlMessages::header_only(int level, int type, std::size_t cmsg_len,
                                              std::size_t room) {
  char* place = reserve(sizeof(cmsghdr) + room);
  cmsghdr header{};
  header.cmsg_len = cmsg_len;
  header.cmsg_level = level;
  header.cmsg_type = type;
  std::memcpy(place, &header, sizeof header);
  descriptions_.push_back(fmt::format("{{level={} type={} cmsg_len={}}}", level, type, cmsg_len));
  return *this;
}

ControlMessages& ControlMessages::pad_to(std::size_t length) {
  if (length > size_) {
    descriptions_.push_back(fmt::format("<{} bytes of zeros>", length - size_));
    reserve(length - size_);
  }
  return *this;
}

std::string ControlMessages::describe() const {
  return fmt::format("[{}]", fmt::join(descriptions_, ", "));
}

CallResult sendmsg_with(int fd, std::string_view bytes, int flags, ControlMessages& control) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (control.size() > 0) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
  }
  return call::attempt(fmt::format("sendmsg({}, {}, {}, {})", fd, quote_bytes(bytes),
                                   msg_flags_name(flags), control.describe()),
                       [&] { return ::sendmsg(fd, &msg, flags); });
}

std::vector<ControlItem> ReceivedMessage::all(int level, int type) const {
  std::vector<ControlItem> found;
  for (const ControlItem& item : items)
    if (item.level == level && item.type == type) found.push_back(item);
  return found;
}

ReceivedMessage recvmsg_items(int fd, std::size_t length, int flags, std::size_t control_length) {
  std::string buffer(length, '\0');
  iovec iov{buffer.data(), length};
  std::vector<std::uint64_t> control((control_length + 7) / 8 + 1);
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control_length;
  ReceivedMessage received;
  received.result = call::attempt(fmt::format("recvmsg({}, {}, {}, controllen={})", fd, length,
                                              msg_flags_name(flags), control_length),
                                  [&] { return ::recvmsg(fd, &msg, flags); });
  CallResult& r = received.result;
  if (r.failed()) return received;
  buffer.resize(std::min<std::size_t>(static_cast<std::size_t>(r.value), length));
  r.data = buffer;
  r.msg_flags = msg.msg_flags;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    ControlItem item;
    item.level = cmsg->cmsg_level;
    item.type = cmsg->cmsg_type;
    item.data.assign(reinterpret_cast<const char*>(CMSG_DATA(cmsg)), cmsg->cmsg_len - CMSG_LEN(0));
    if (item.level == SOL_SOCKET && item.type == SCM_RIGHTS)
      for (int received_fd : item.as<int>()) r.fds.push_back(received_fd);
    received.items.push_back(std::move(item));
  }
  return received;
}

}  // namespace sockspec
