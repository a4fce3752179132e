#include "runner/engine/case_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
// glibc 2.36 declares pidfd_open without C linkage in C++.
extern "C" {
#include <sys/pidfd.h>
}
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "os/names.h"
#include "os/proc.h"
#include "runner/runner_error.h"

extern char** environ;

namespace sockspec {

namespace {

// Time the case's own bounded waits get before the runner's hard deadline, so that the
// harness can report a stuck wait itself, with its context, before it is killed.
constexpr auto kHarnessMargin = std::chrono::milliseconds(2000);

std::vector<std::string> strace_prefix(const CaseLaunch& l) {
  std::vector<std::string> argv;
  if (!l.strace.empty()) {
    // -f: every peer; -b execve: let go of helper programs a case execs (bindfs, strace
    // itself) so that their internals do not bury the case's calls; -yy: fd annotations
    // (socket:[inode] and the address); -X verbose: constants as number and name.
    argv = {l.strace,
            "-f",
            "-b",
            "execve",
            "-tt",
            "-T",
            "-yy",
            "-X",
            "verbose",
            "-s",
            "256",
            "-o",
            l.trace_file.string(),
            "--"};
  }
  return argv;
}

std::vector<std::string> case_command(const CaseLaunch& l) {
  std::vector<std::string> argv;
  if (!l.info.script.empty()) {
    // A scripted case runs in `sockspec script --one FILE`, this same program.
    argv.push_back(std::filesystem::read_symlink("/proc/self/exe").string());
    argv.push_back("script");
    argv.push_back("--one");
    argv.push_back(l.info.script);
    return argv;
  }
  argv.push_back(l.suite.string());
  argv.push_back("--gtest_filter=" + l.info.name);
  argv.push_back("--gtest_output=json:" + l.result_json.string());
  argv.push_back("--gtest_color=no");
  return argv;
}

// [strace] [target wrapper] [strace] case, with strace on the side the target allows.
std::vector<std::string> command_line(const CaseLaunch& l) {
  const Target* target = l.target;
  const bool inside = target && target->trace == TracePlacement::kInside;
  std::vector<std::string> inner = case_command(l);
  if (inside) {
    auto traced = strace_prefix(l);
    traced.insert(traced.end(), inner.begin(), inner.end());
    inner = std::move(traced);
  }
  if (!target) return inner;
  std::vector<std::string> argv = inside ? std::vector<std::string>{} : strace_prefix(l);
  const auto wrapped = wrap_command(*target, inner, l.run_dir, l.work_dir);
  argv.insert(argv.end(), wrapped.begin(), wrapped.end());
  return argv;
}

std::vector<std::string> environment(const CaseLaunch& l) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    if (entry.starts_with("SOCKSPEC_") || entry.starts_with("RC_PARAMS=") ||
        entry.starts_with("GTEST_"))
      continue;
    env.emplace_back(entry);
  }
  const auto harness_budget = std::max(l.timeout - kHarnessMargin, l.timeout / 2);
  auto as_seen_by_case = [&](const std::filesystem::path& path) {
    return l.target ? guest_view(*l.target, path.string(), l.run_dir) : path.string();
  };
  env.push_back("SOCKSPEC_CASE_DIR=" + as_seen_by_case(l.work_dir));
  env.push_back(fmt::format("SOCKSPEC_CASE_TIMEOUT_MS={}", harness_budget.count()));
  if (!l.actor_program.empty()) env.push_back("SOCKSPEC_ACTOR=" + l.actor_program);
  if (!l.trace_dir.empty()) env.push_back("SOCKSPEC_TRACE_DIR=" + as_seen_by_case(l.trace_dir));
  // A property prints its counterexample; with reproduce= it replays only that one.
  env.push_back(l.rapidcheck_reproduce.empty() ? "RC_PARAMS=verbose_progress=0"
                                               : "RC_PARAMS=reproduce=" + l.rapidcheck_reproduce);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

CaseProcess::CaseProcess(CaseLaunch launch) : launch_(std::move(launch)) {
  auto argv_strings = command_line(launch_);
  auto env_strings = environment(launch_);
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env_strings);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, launch_.output_log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, launch_.work_dir.c_str());

  // Own session, hence own process group and no controlling terminal: no process of the
  // case can write over the progress line or read the terminal, and a Ctrl-C reaches only
  // the runner, which stops the cases itself. Signals as a fresh process has them (the
  // runner blocks SIGINT and SIGTERM for itself, and a case must not inherit that, nor an
  // ignored SIGPIPE).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  started_ = Clock::now();
  deadline_ = started_ + launch_.timeout;
  const int rc = ::posix_spawn(&pid_, argv[0], &actions, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0)
    throw RunnerError(fmt::format("cannot start {}: {}", argv_strings[0], std::strerror(rc)));
  pidfd_ = ::pidfd_open(pid_, 0);
  if (pidfd_ < 0)
    throw RunnerError(
        fmt::format("pidfd_open: {} (Linux 5.3 or later is needed)", std::strerror(errno)));
}

CaseProcess::CaseProcess(CaseProcess&& other) noexcept
    : launch_(std::move(other.launch_)),
      pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      started_(other.started_),
      deadline_(other.deadline_),
      reaped_(std::exchange(other.reaped_, true)) {}

CaseProcess::~CaseProcess() {
  if (!reaped_ && pid_ > 0) kill_all();
  if (pidfd_ >= 0) ::close(pidfd_);
}

std::optional<CaseExit> CaseProcess::try_reap() {
  siginfo_t info{};
  if (::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG) != 0 ||
      info.si_pid == 0)
    return std::nullopt;
  const CaseExit exit = exit_from(info);
  // Peers the case forgot (or a crashed case's peers) still hold the group: kill them now.
  ::kill(-pid_, SIGKILL);
  return exit;
}

CaseExit CaseProcess::reap_blocking() {
  siginfo_t info{};
  while (::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED) != 0 && errno == EINTR) {
  }
  return exit_from(info);
}

CaseExit CaseProcess::exit_from(const siginfo_t& info) {
  reaped_ = true;
  CaseExit exit;
  exit.exited = info.si_code == CLD_EXITED;
  exit.exit_code = exit.exited ? info.si_status : 0;
  exit.signal = exit.exited ? 0 : info.si_status;
  exit.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  return exit;
}

// In a traced run the group leader is strace: the case's processes are killed first, and
// strace, left without tracees, writes out the trace up to the kill and exits by itself.
void CaseProcess::kill_group_leaving_tracer() {
  const bool traced = !launch_.strace.empty();
  for (pid_t member : processes_in_group(pid_))
    if (!(traced && member == pid_)) ::kill(member, SIGKILL);
  if (!traced) return;
  pollfd pfd{pidfd_, POLLIN, 0};
  ::poll(&pfd, 1, 3000);
}

CaseExit CaseProcess::kill_for_timeout() {
  std::string report;
  for (pid_t member : processes_in_group(pid_)) {
    const ProcessState state = read_process_state(member);
    if (state.comm == "strace") continue;
    report += fmt::format("  pid {} ({}): {}\n", member, state.comm, state.describe());
  }
  kill_group_leaving_tracer();
  ::kill(-pid_, SIGKILL);
  CaseExit exit = reap_blocking();
  exit.timed_out = true;
  exit.blocked_report = report;
  return exit;
}

void CaseProcess::kill_all() {
  ::kill(-pid_, SIGKILL);
  if (!reaped_) reap_blocking();
}

}  // namespace sockspec
