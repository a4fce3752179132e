// The one clock of the harness and the runner: deadlines, grace periods and case times are
// all steady_clock time points, never wall-clock time.
#pragma once

#include <chrono>

namespace sockspec {

using Clock = std::chrono::steady_clock;

}  // namespace sockspec
