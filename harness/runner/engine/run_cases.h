// Runs cases in parallel: one worker per -j slot, each with a case server on the run's target
// (case_server_link.h) that forks a fresh process per case. Every case is watched: a hang
// verdict (hang_watch.h) ends a case that can never go on, its deadline ends one that cannot
// be judged. A failed case is run once more under strace, in a process of its own
// (one_shot.h), to record its trace. SIGINT, SIGTERM and SIGHUP stop the run cleanly: every
// process of every case is killed, the run dir removed, and the summary says which cases were
// interrupted; a second signal stops it at once.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "runner/engine/target.h"
#include "runner/judgement/expectations.h"
#include "runner/run_model.h"

namespace sockspec {

enum class TraceMode { kFail, kAlways, kNever };

struct RunOptions {
  std::filesystem::path suite;            // the case program: GoogleTest cases, and the case server
  const Target* target = nullptr;         // nullptr: native
  TargetState target_state;               // as the target's check found it
  std::vector<Expectation> expectations;  // the target's known divergences
  std::string actor_program;  // scripted cases' actors run this program (--actor, or the target's)
  // A library preloaded (LD_PRELOAD) into every process that makes the calls under test: the
  // GoogleTest cases and the actors of scripted cases (--preload). "" for none.
  std::filesystem::path preload;
  int jobs = 1;
  std::filesystem::path report_dir;
  TraceMode trace = TraceMode::kFail;
  std::chrono::milliseconds timeout{15'000};    // each case's deadline, the target's scale applied
  std::chrono::milliseconds hang_after{1'000};  // the hang verdict's grace period; 0: none
};

struct RunObserver {
  std::function<void(const CaseInfo&)> started;
  std::function<void(const CaseResult&)> finished;
};

RunSummary run_cases(const std::vector<CaseInfo>& cases, const RunOptions& options,
                     const RunObserver& observer);

}  // namespace sockspec
