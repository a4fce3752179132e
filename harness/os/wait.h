// Bounded polling for a state that another process reaches on its own (e.g. "blocked in
// accept"). Polling /proc is observation, not ordering: the probe interval only decides how
// soon the change is seen, never whether the case is correct.
#pragma once

#include <time.h>

#include <chrono>
#include <utility>

#include "os/clock.h"

namespace sockspec {

// Calls `probe` (returning {done, value}) until done or the deadline; returns the last value.
template <typename Probe>
auto poll_until(Clock::time_point deadline, Probe probe) {
  auto [done, value] = probe();
  auto interval = std::chrono::microseconds(50);
  while (!done && Clock::now() < deadline) {
    const timespec pause{0, static_cast<long>(std::chrono::nanoseconds(interval).count())};
    ::nanosleep(&pause, nullptr);
    interval = std::min(interval * 2, std::chrono::microseconds(2000));
    std::tie(done, value) = probe();
  }
  return value;
}

}  // namespace sockspec
