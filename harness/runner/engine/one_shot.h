// A case run in a process of its own, exec'd for it: the traced re-run of a failed case (a
// trace must show that case and nothing of a server), every case with --trace always, and
// every case on a target that wants a wrapper of its own for each case (proot).
//
//   [strace -f ... -o TRACE --] [wrapper] [strace ...] CASE_PROGRAM --sockspec-case REQUEST
//
// with strace on the side of the wrapper the target allows (target.h). The process leads a
// session of its own; the case's peers are forked into its process group, so the whole
// case can be stopped with one kill(-pgid). In a traced run strace leads the group: at a
// deadline the case's processes are killed first, and strace, left without tracees, writes
// the end of its trace and exits by itself.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "os/clock.h"
#include "os/spawn.h"
#include "runner/engine/target.h"

namespace sockspec {

struct OneShotLaunch {
  const Target* target = nullptr;
  std::filesystem::path program;       // the case program
  std::filesystem::path request_file;  // the CaseRequest, as the host sees it
  std::filesystem::path run_dir;
  std::filesystem::path work_dir;
  std::filesystem::path output_log;
  std::vector<std::string> env;
  std::filesystem::path trace_file;  // empty: untraced
  std::string inject;                // with a trace: strace's -e inject expression, if any
};

class OneShot {
 public:
  explicit OneShot(const OneShotLaunch& launch);

  pid_t pid() const { return child_.pid(); }
  int pidfd() const { return child_.pidfd(); }
  std::optional<ExitStatus> try_reap();
  // Says what each process of the case is doing, then kills them all and reaps.
  ExitStatus stop(std::string& processes);
  bool traced() const { return traced_; }

 private:
  void kill_group_leaving_tracer();

  Child child_;
  bool traced_ = false;
};

}  // namespace sockspec
