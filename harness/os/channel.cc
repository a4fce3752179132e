#include "os/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "os/case_error.h"
#include "os/pipe_write.h"

namespace sockspec {

namespace {

// Where RLIMIT_NOFILE is at or below the floor (the limits plan of `sockspec faults` leaves a
// case only a few fds), no fd can go above it (F_DUPFD fails with EINVAL): the channel keeps
// the fd it has, and the case meets the limit in its own calls, where it is named.
Fd raise_above_floor(int fd) {
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, Channel::kChannelFdFloor);
  if (moved < 0 && errno == EINVAL) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return Fd(fd);
  }
  ::close(fd);
  if (moved < 0) throw CaseError(fmt::format("cannot move channel fd: {}", std::strerror(errno)));
  return Fd(moved);
}

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe(fds) != 0) throw CaseError(fmt::format("pipe: {}", std::strerror(errno)));
  return {raise_above_floor(fds[0]), raise_above_floor(fds[1])};
}

// A channel whose other side has died gives EPIPE (a CaseError), never SIGPIPE.
void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = write_without_sigpipe(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CaseError(fmt::format("channel write: {}", std::strerror(errno)));
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

Channel::Channel(Fd in, Fd out, std::string other_side)
    : in_(std::move(in)), out_(std::move(out)), other_side_(std::move(other_side)) {}

ChannelPair make_channel_pair(std::string_view peer_name) {
  auto [to_peer_read, to_peer_write] = make_pipe();
  auto [to_controller_read, to_controller_write] = make_pipe();
  return {Channel(std::move(to_controller_read), std::move(to_peer_write),
                  fmt::format("peer '{}'", peer_name)),
          Channel(std::move(to_peer_read), std::move(to_controller_write), "the controller")};
}

// Frame: u32 tag length, u32 payload length, tag bytes, payload bytes.
void Channel::send(std::string_view tag, std::string_view payload) {
  const std::uint32_t header[2] = {static_cast<std::uint32_t>(tag.size()),
                                   static_cast<std::uint32_t>(payload.size())};
  std::string frame(reinterpret_cast<const char*>(header), sizeof(header));
  frame.append(tag).append(payload);
  write_all(out_.get(), frame.data(), frame.size());
}

bool Channel::read_exactly(char* buffer, std::size_t size, Clock::time_point deadline,
                           std::string_view waiting_for) {
  while (size > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      throw CaseError(fmt::format("deadline passed while waiting for {} to send '{}'", other_side_,
                                  waiting_for));
    pollfd pfd{in_.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = ::read(in_.get(), buffer, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

Message Channel::receive(Clock::time_point deadline, std::string_view waiting_for) {
  std::uint32_t header[2];
  if (!read_exactly(reinterpret_cast<char*>(header), sizeof(header), deadline, waiting_for))
    throw CaseError(
        fmt::format("{} closed its channel (exited?) while the other side waited for '{}'",
                    other_side_, waiting_for));
  Message m;
  m.tag.resize(header[0]);
  m.payload.resize(header[1]);
  if (!read_exactly(m.tag.data(), m.tag.size(), deadline, waiting_for) ||
      !read_exactly(m.payload.data(), m.payload.size(), deadline, waiting_for))
    throw CaseError(fmt::format("{} closed its channel in the middle of a message", other_side_));
  return m;
}

}  // namespace sockspec
