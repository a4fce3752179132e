// One case, running: a process group of its own, a deadline, and (in a traced run) strace
// at its head.
//
//   [strace -f ... -o TRACE --] sockspec-suite --gtest_filter=NAME --gtest_output=json:OUT
//
// On another target the target's wrapper comes first (runsc do ..., qemu-x86_64, ...), with
// strace around it or inside it as the target allows (target.h).
//
// The case's peers are forked into the same process group, so the whole case can be
// stopped with one kill(-pgid). When the deadline passes, the runner first reads what each
// process is blocked in (from /proc), then kills the case's processes and lets strace write
// the end of its trace.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "os/clock.h"
#include "runner/engine/case_list.h"
#include "runner/engine/target.h"

namespace sockspec {

struct CaseLaunch {
  CaseInfo info;
  const Target* target = nullptr;  // where the case runs; nullptr: natively
  std::filesystem::path run_dir;   // the folder of every case dir of the run
  std::filesystem::path suite;
  std::filesystem::path work_dir;     // the case's private dir (its cwd), made by the runner
  std::filesystem::path result_json;  // GoogleTest's JSON result
  std::filesystem::path output_log;   // stdout and stderr of every process of the case
  std::chrono::milliseconds timeout{};
  std::string strace;                // strace binary; empty: run untraced
  std::filesystem::path trace_file;  // where strace writes, when traced
  std::filesystem::path trace_dir;   // SOCKSPEC_TRACE_DIR for injected peers' traces
  std::string rapidcheck_reproduce;  // replays one counterexample of a property
  std::string actor_program;         // SOCKSPEC_ACTOR for a scripted case ("" for C++ actors)
};

struct CaseExit {
  bool exited = false;
  int exit_code = 0;
  int signal = 0;
  bool timed_out = false;
  std::string blocked_report;  // at a timeout: one line per process, what it was doing
  double seconds = 0;
};

class CaseProcess {
 public:
  explicit CaseProcess(CaseLaunch launch);
  CaseProcess(CaseProcess&&) noexcept;
  CaseProcess& operator=(CaseProcess&&) = delete;
  ~CaseProcess();

  const CaseLaunch& launch() const { return launch_; }
  int pidfd() const { return pidfd_; }
  pid_t pid() const { return pid_; }
  Clock::time_point deadline() const { return deadline_; }
  // Reaps the process if it has ended; then kills whatever of its group is left.
  std::optional<CaseExit> try_reap();
  // The deadline passed: records what each process was blocked in, kills the group, reaps.
  CaseExit kill_for_timeout();
  // Stops everything at once (interrupted run).
  void kill_all();

 private:
  CaseExit reap_blocking();
  // Marks the process reaped and turns waitid()'s report into a CaseExit.
  CaseExit exit_from(const siginfo_t& info);
  void kill_group_leaving_tracer();

  CaseLaunch launch_;
  pid_t pid_ = -1;  // also the process group id
  int pidfd_ = -1;
  Clock::time_point started_;
  Clock::time_point deadline_;
  bool reaped_ = false;
};

}  // namespace sockspec
