// Runs cases in parallel, each in its own process group and directory, within its deadline;
// re-runs a failed case under strace to record its trace.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "runner/engine/case_list.h"
#include "runner/engine/target.h"
#include "runner/judgement/case_result.h"
#include "runner/judgement/expectations.h"

namespace sockspec {

enum class TraceMode { kFail, kAlways, kNever };

struct RunOptions {
  std::filesystem::path suite;
  const Target* target = nullptr;         // nullptr or native: the host kernel
  std::string target_version;             // as check_target() found it, for the report
  std::vector<Expectation> expectations;  // the target's known divergences
  std::string actor_program;  // scripted cases' actors run this program (--actor, or the target's)
  int jobs = 1;
  std::filesystem::path report_dir;
  TraceMode trace = TraceMode::kFail;
  std::chrono::milliseconds timeout{15'000};
};

struct RunSummary {
  std::vector<CaseResult> results;  // in the order the cases were listed
  double seconds = 0;
  bool interrupted = false;  // SIGINT or SIGTERM arrived; results are partial
  std::string trace_note;    // e.g. why there are no traces
  std::string target = "native";
  std::string target_version;
};

struct RunObserver {
  std::function<void(const CaseInfo&)> started;
  std::function<void(const CaseResult&)> finished;
};

RunSummary run_cases(const std::vector<CaseInfo>& cases, const RunOptions& options,
                     const RunObserver& observer);

}  // namespace sockspec
