// An error that ends a run before or outside the cases: bad usage, a missing case program,
// an unwritable report dir. main() prints its one line and exits with its status.
#pragma once

#include <stdexcept>

namespace sockspec {

// Exit statuses of `sockspec`.
constexpr int kAllPassed = 0;
constexpr int kSomeFailed = 1;          // a case failed or hung, or passed against its entry
constexpr int kUsageOrEnvironment = 2;  // bad usage, a malformed script or table, no program
constexpr int kTargetUnavailable = 3;   // --target names a target not installed or not usable
// Stopped by a signal: 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
constexpr int kInterruptedBase = 128;

struct RunnerError : std::runtime_error {
  explicit RunnerError(const std::string& what, int status = kUsageOrEnvironment)
      : std::runtime_error(what), exit_status(status) {}
  int exit_status;
};

}  // namespace sockspec
