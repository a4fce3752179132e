// The controller's line to one peer, and the peer's line back: a pair of pipes.
//
// Pipes, not sockets: the channel must keep working when the AF_UNIX implementation under
// test does not. Its fds are moved above kChannelFdFloor so the fds a case creates for the
// sockets under test are numbered as if the channel were not there.
//
// Messages are words ("listening", "go") that order the peers, and values that carry a
// result back to the controller. Every wait is bounded by the case's deadline.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "os/clock.h"
#include "os/fd.h"

namespace sockspec {

struct Message {
  std::string tag;
  std::string payload;
};

class Channel {
 public:
  static constexpr int kChannelFdFloor = 500;

  Channel() = default;
  Channel(Fd in, Fd out, std::string other_side);

  // Sends one message; never blocks for long since messages are small.
  void send(std::string_view tag, std::string_view payload = {});
  // The next message, or a CaseError naming the other side when it closes its end or the
  // deadline passes first.
  Message receive(Clock::time_point deadline, std::string_view waiting_for);

  int in_fd() const { return in_.get(); }
  int out_fd() const { return out_.get(); }
  // Closes both ends in a process that must not hold them (e.g. a sibling peer).
  void close() { in_.reset(), out_.reset(); }

 private:
  bool read_exactly(char* buffer, std::size_t size, Clock::time_point deadline,
                    std::string_view waiting_for);

  Fd in_;
  Fd out_;
  std::string other_side_;  // "peer 'server'" or "the controller", for messages
};

// Two connected channels: one for each side of a fork.
struct ChannelPair {
  Channel controller_side;
  Channel peer_side;
};
ChannelPair make_channel_pair(std::string_view peer_name);

}  // namespace sockspec
