#include "runner/engine/run_cases.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <optional>

#include <fmt/format.h>

#include "os/proc.h"
#include "protocol/case_file_name.h"
#include "runner/engine/case_process.h"
#include "runner/runner_error.h"

namespace sockspec {

namespace {

std::string find_strace() {
  for (const char* path : {"/usr/bin/strace", "/bin/strace", "/usr/local/bin/strace"})
    if (::access(path, X_OK) == 0) return path;
  return {};
}

std::filesystem::path make_run_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "sockspec-run.XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw RunnerError(fmt::format("cannot make a temp dir: {}", std::strerror(errno)));
  return pattern;
}

// SIGINT and SIGTERM arrive as readable data on a signalfd, so the run loop can stop every
// case and clean up instead of dying with processes and directories left behind.
class InterruptSignals {
 public:
  InterruptSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set_, &previous_);
    fd_ = ::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  ~InterruptSignals() {
    ::close(fd_);
    ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
  }
  int fd() const { return fd_; }
  // Takes a pending SIGINT/SIGTERM off the signalfd; true if there was one. Consuming it
  // matters: a signal left pending would kill the runner when the mask is restored.
  bool take() {
    signalfd_siginfo info{};
    return ::read(fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info));
  }

 private:
  sigset_t set_{}, previous_{};
  int fd_ = -1;
};

// One case on its way through: a first run, and maybe a traced re-run.
struct Attempt {
  std::size_t index;  // into the case list
  bool traced_rerun = false;
  std::optional<CaseResult> first_result;  // the failure being re-run
};

class Run {
 public:
  Run(const std::vector<CaseInfo>& cases, const RunOptions& options, const RunObserver& observer)
      : cases_(cases),
        options_(options),
        observer_(observer),
        run_dir_(make_run_dir()),
        strace_(find_strace()) {
    results_.resize(cases.size());
    done_.assign(cases.size(), false);
    for (std::size_t i = 0; i < cases.size(); ++i) queue_.push_back({i, false, std::nullopt});
    trace_dir_ = options.report_dir / "traces";
    if (options.trace != TraceMode::kNever && strace_.empty())
      trace_note_ = "strace is not installed, so failures have no trace (apt-get install strace)";
    if (options.trace != TraceMode::kNever && options.target &&
        options.target->trace == TracePlacement::kNone) {
      trace_note_ = options.target->no_trace_reason + ", so failures on this target have no trace";
      strace_.clear();
    }
  }

  ~Run() {
    running_.clear();  // kills whatever is still running
    reap_orphans();
    std::error_code ignored;
    std::filesystem::remove_all(run_dir_, ignored);
  }

  RunSummary go() {
    const auto started = Clock::now();
    InterruptSignals interrupts;
    bool interrupted = false;
    while (!interrupted && (!queue_.empty() || !running_.empty())) {
      while (!queue_.empty() &&
             running_.size() < static_cast<std::size_t>(std::max(1, options_.jobs))) {
        start(queue_.front());
        queue_.pop_front();
      }
      interrupted = wait_for_events(interrupts);
    }
    RunSummary summary;
    summary.interrupted = interrupted;
    summary.trace_note = trace_note_;
    if (options_.target) summary.target = options_.target->name;
    summary.target_version = options_.target_version;
    for (std::size_t i = 0; i < cases_.size(); ++i)
      if (done_[i]) summary.results.push_back(results_[i]);
    summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return summary;
  }

 private:
  struct Running {
    Attempt attempt;
    CaseProcess process;
  };

  bool traced(const Attempt& a) const {
    if (strace_.empty()) return false;
    return options_.trace == TraceMode::kAlways || a.traced_rerun;
  }

  void start(Attempt attempt) {
    const CaseInfo& info = cases_[attempt.index];
    const std::string stem =
        fmt::format("{}{}", attempt.index, attempt.traced_rerun ? ".traced" : "");
    CaseLaunch launch;
    launch.info = info;
    launch.target = options_.target;
    launch.run_dir = run_dir_;
    launch.actor_program = options_.actor_program;
    launch.suite = options_.suite;
    launch.work_dir = run_dir_ / stem;
    launch.result_json = run_dir_ / (stem + ".json");
    launch.output_log = run_dir_ / (stem + ".log");
    launch.timeout = options_.timeout;
    std::filesystem::create_directories(launch.work_dir);
    if (traced(attempt)) {
      std::filesystem::create_directories(trace_dir_);
      launch.strace = strace_;
      launch.trace_file = trace_dir_ / (case_file_name(info.name) + ".strace");
      launch.trace_dir = trace_dir_;
      if (attempt.first_result)
        launch.rapidcheck_reproduce = attempt.first_result->rapidcheck_reproduce;
    }
    if (!attempt.traced_rerun && observer_.started) observer_.started(info);
    running_.push_back({std::move(attempt), CaseProcess(std::move(launch))});
  }

  // Waits until a case ends, a deadline passes or an interrupt arrives. True on interrupt.
  bool wait_for_events(InterruptSignals& interrupts) {
    std::vector<pollfd> fds{{interrupts.fd(), POLLIN, 0}};
    auto nearest = Clock::time_point::max();
    for (const auto& r : running_) {
      fds.push_back({r.process.pidfd(), POLLIN, 0});
      nearest = std::min(nearest, r.process.deadline());
    }
    const auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(nearest - Clock::now()).count();
    ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait_ms + 1, 0, 60'000)));
    if ((fds[0].revents & POLLIN) && interrupts.take()) return true;

    for (auto r = running_.begin(); r != running_.end();) {
      std::optional<CaseExit> exit = r->process.try_reap();
      if (!exit && Clock::now() >= r->process.deadline()) exit = r->process.kill_for_timeout();
      if (!exit) {
        ++r;
        continue;
      }
      Running finished = std::move(*r);
      r = running_.erase(r);
      conclude(std::move(finished), *exit);
    }
    reap_orphans();
    return false;
  }

  void conclude(Running finished, const CaseExit& exit) {
    const CaseLaunch& launch = finished.process.launch();
    CaseResult result = evaluate(launch, exit);
    Attempt& attempt = finished.attempt;
    std::error_code ignored;
    std::filesystem::remove_all(launch.work_dir, ignored);

    if (result.status == Status::kFailed && !attempt.traced_rerun &&
        options_.trace == TraceMode::kFail && !strace_.empty()) {
      queue_.push_front({attempt.index, true, std::move(result)});
      return;
    }
    if (attempt.traced_rerun) {
      CaseResult first = std::move(*attempt.first_result);
      if (result.status != Status::kFailed)
        first.trace_note = "the traced re-run did not fail, so the trace shows a passing run";
      first.output += "\n--- traced re-run ---\n" + result.output;
      result = std::move(first);
    }
    if (traced(attempt)) result.traces = trace_files(launch);
    apply_expectations(options_.expectations, result);
    results_[attempt.index] = result;
    done_[attempt.index] = true;
    if (observer_.finished) observer_.finished(result);
  }

  // The case's own trace, then those strace wrote for peers with injected faults.
  std::vector<std::string> trace_files(const CaseLaunch& launch) const {
    std::vector<std::string> files;
    const std::string stem = case_file_name(launch.info.name);
    if (std::filesystem::exists(launch.trace_file))
      files.push_back("traces/" + launch.trace_file.filename().string());
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(trace_dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with(stem + ".") && name != launch.trace_file.filename().string() &&
          name.ends_with(".strace"))
        files.push_back("traces/" + name);
    }
    return files;
  }

  // A process whose parent died is re-parented to the runner (a child subreaper). One that
  // belongs to no running case (its case ended, or it left its case's process group) is
  // killed and reaped, so nothing outlives the run.
  void reap_orphans() {
    for (pid_t child : children_of(::getpid())) {
      const pid_t group = process_group_of(child);
      const bool of_running_case = std::any_of(
          running_.begin(), running_.end(),
          [&](const Running& r) { return r.process.pid() == child || r.process.pid() == group; });
      if (of_running_case) continue;
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
    }
  }

  const std::vector<CaseInfo>& cases_;
  const RunOptions& options_;
  const RunObserver& observer_;
  std::filesystem::path run_dir_;
  std::filesystem::path trace_dir_;
  std::string strace_;
  std::string trace_note_;
  std::deque<Attempt> queue_;
  std::list<Running> running_;
  std::vector<CaseResult> results_;
  std::vector<bool> done_;
};

}  // namespace

RunSummary run_cases(const std::vector<CaseInfo>& cases, const RunOptions& options,
                     const RunObserver& observer) {
  // Orphans of a case (a peer whose parent died) come to the runner, not to init, so none
  // survives the run.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::error_code ignored;
  std::filesystem::remove_all(options.report_dir / "traces", ignored);
  Run run(cases, options, observer);
  return run.go();
}

}  // namespace sockspec
