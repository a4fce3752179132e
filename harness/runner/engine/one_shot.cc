#include "runner/engine/one_shot.h"

#include <poll.h>
#include <signal.h>

#include <fmt/format.h>

#include "os/host.h"
#include "os/proc.h"
#include "runner/runner_error.h"

namespace sockspec {

namespace {

// [strace] [target wrapper] [strace] case, with strace on the side the target allows.
std::vector<std::string> command_line(const OneShotLaunch& l) {
  const Target& target = *l.target;
  const bool traced = !l.trace_file.empty();
  std::vector<std::string> strace;
  if (traced) {
    StraceOptions options{.output = l.trace_file.string()};
    if (!l.inject.empty()) options.inject = {l.inject};
    strace = strace_command(options);
  }
  std::vector<std::string> inner = {l.program.string(), "--sockspec-case",
                                    target.guest_view(l.request_file.string(), l.run_dir)};
  const bool inside = traced && target.trace == TracePlacement::kInside;
  if (inside) inner.insert(inner.begin(), strace.begin(), strace.end());
  std::vector<std::string> argv = traced && !inside ? strace : std::vector<std::string>{};
  const auto wrapped = target.wrap(target, inner, {l.run_dir, l.work_dir});
  argv.insert(argv.end(), wrapped.begin(), wrapped.end());
  return argv;
}

}  // namespace

OneShot::OneShot(const OneShotLaunch& launch) : traced_(!launch.trace_file.empty()) {
  try {
    child_ = spawn({.argv = command_line(launch),
                    .env = launch.env,
                    .cwd = launch.work_dir,
                    .out = Redirect::append(launch.output_log),
                    .err = Redirect::same_as_stdout(),
                    .grouping = Grouping::kOwnSession});
  } catch (const SpawnError& e) {
    throw RunnerError(e.what());
  }
}

std::optional<ExitStatus> OneShot::try_reap() {
  std::optional<ExitStatus> exit = child_.try_wait();
  // Peers the case forgot (or a crashed case's peers) still hold the group: kill them now.
  if (exit) ::kill(-child_.pid(), SIGKILL);
  return exit;
}

void OneShot::kill_group_leaving_tracer() {
  for (pid_t member : processes_in_group(child_.pid()))
    if (!(traced_ && member == child_.pid())) ::kill(member, SIGKILL);
  if (traced_) child_.ended_by(Clock::now() + std::chrono::seconds(3));
}

ExitStatus OneShot::stop(std::string& processes) {
  processes.clear();
  for (pid_t member : processes_in_group(child_.pid())) {
    const ProcessState state = read_process_state(member);
    if (state.comm == "strace") continue;
    processes += fmt::format("  pid {} ({}): {}\n", member, state.comm, state.describe());
  }
  kill_group_leaving_tracer();
  return child_.kill_group();
}

}  // namespace sockspec
