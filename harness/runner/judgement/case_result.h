// What a finished case came to: passed, failed, hung or skipped, with everything a reader
// needs to see why. The case's own record (protocol/case_protocol.h) says what the case
// found; how its process ended says the rest (a crash, a deadline, a hang verdict).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "os/exit_status.h"
#include "protocol/case_protocol.h"
#include "runner/run_model.h"

namespace sockspec {

// How the case's process ended, as the engine saw it.
struct CaseEnd {
  ExitStatus exit;
  enum class StoppedBy { kNothing, kDeadline, kHangVerdict, kInterrupt };
  StoppedBy stopped_by = StoppedBy::kNothing;
  int interrupt_signal = 0;
  std::string processes;  // stopped: what each process was doing, one line each
  double seconds = 0;
};

// What the judgement needs to know of the run.
struct Judging {
  std::chrono::milliseconds timeout{};     // each case's deadline
  std::chrono::milliseconds hang_after{};  // the hang verdict's grace period
  std::filesystem::path suite;             // for the command that replays a property
};

CaseResult evaluate(const CaseInfo& info, const std::optional<protocol::ResultRecord>& record,
                    std::string output, const CaseEnd& end, const Judging& judging);

}  // namespace sockspec
