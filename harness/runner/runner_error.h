// An error that ends a run before or outside the cases: bad usage, a missing suite binary,
// an unwritable report dir. main() prints its one line and exits with kUsageOrEnvironment.
#pragma once

#include <stdexcept>

namespace sockspec {

// Exit statuses of `sockspec`.
constexpr int kAllPassed = 0;
constexpr int kSomeFailed = 1;
constexpr int kUsageOrEnvironment = 2;
constexpr int kInterrupted = 130;

struct RunnerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace sockspec
