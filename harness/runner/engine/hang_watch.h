// The hang verdict: a case whose processes are all asleep in calls that only another of them
// could end (no timeout pending, no timer armed), and that have not run at all for a grace
// period, can never go on. The runner ends it at once as hung instead of waiting for its
// deadline, with the line per process it would print at the deadline.
//
// The watch looks every 100 ms. Any process running, any wait that time alone will end
// (a socket's SO_RCVTIMEO, a poll() timeout, a nanosleep, an alarm), any wait it cannot
// judge, or any change between two looks (a task that ran, a new syscall) starts the grace
// period again. The deadline stays the outer bound for what cannot be judged: a target
// whose /proc has no PID/syscall, a process that spins.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "os/clock.h"

namespace sockspec {

class HangWatch {
 public:
  static constexpr auto kInterval = std::chrono::milliseconds(100);

  explicit HangWatch(std::chrono::milliseconds grace) : grace_(grace) {}

  // Looks at `processes` (the case's, as host pids) now. Returns the verdict's report, one
  // line per task, once they have been hung for the grace period.
  std::optional<std::string> look(const std::vector<pid_t>& processes, Clock::time_point now);

 private:
  // Per task: the syscall and its arguments, and how much it has run.
  using Signature = std::map<pid_t, std::tuple<long, std::uint64_t, std::uint64_t>>;

  std::chrono::milliseconds grace_;
  std::optional<Clock::time_point> hung_since_;
  Signature signature_;
};

}  // namespace sockspec
