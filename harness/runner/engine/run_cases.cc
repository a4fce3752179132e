#include "runner/engine/run_cases.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "os/cleanup.h"
#include "os/files.h"
#include "os/host.h"
#include "os/pipe_write.h"
#include "os/proc.h"
#include "os/spawn.h"
#include "protocol/case_file_name.h"
#include "protocol/case_protocol.h"
#include "runner/engine/case_server_link.h"
#include "runner/engine/hang_watch.h"
#include "runner/engine/one_shot.h"
#include "runner/judgement/case_result.h"
#include "runner/runner_error.h"

namespace sockspec {

namespace {

// Time the case's own bounded waits get before the runner's deadline, so that the harness
// can say what it was waiting for before it is killed.
constexpr auto kHarnessMargin = std::chrono::milliseconds(2000);
// How long a server gets to report the end of a case it was told to kill.
constexpr auto kKillAnswerLimit = std::chrono::seconds(5);
// How long the runner waits for every process of the run to be gone when it stops.
constexpr auto kCleanupLimit = std::chrono::seconds(5);
// How long a server may take to start a case it was sent (runsc, memcheck and qemu take a
// second or more to start the server itself); longer, and it counts as dead.
constexpr auto kStartLimit = std::chrono::seconds(60);
// How often the runner looks for orphaned processes to kill.
constexpr auto kOrphanSweepInterval = std::chrono::milliseconds(200);
// A hang is judged only after a case has run this long: most cases are done by then.
constexpr auto kFirstLook = std::chrono::milliseconds(100);

std::filesystem::path make_run_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "sockspec-run.XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw RunnerError(fmt::format("cannot make a temp dir: {}", std::strerror(errno)));
  return pattern;
}

// SIGINT, SIGTERM and SIGHUP arrive as readable data on a signalfd, so the run loop can stop
// every case and clean up instead of dying with processes and directories left behind. So does
// SIGPIPE: the runner's output was closed (`sockspec run | head`), and the run ends as if
// interrupted (exit 141). Writes to a case server take back the SIGPIPE they raise
// (case_server_link.cc), so a server that dies is not taken for that.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&set_, sig);
    ::sigprocmask(SIG_BLOCK, &set_, &previous_);
    fd_ = ::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  ~StopSignals() {
    ::close(fd_);
    ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
  }
  int fd() const { return fd_; }
  // Takes a pending signal off the signalfd: its number, or 0. Consuming it matters: a
  // signal left pending would kill the runner when the mask is restored.
  int take() {
    signalfd_siginfo info{};
    if (::read(fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
    return static_cast<int>(info.ssi_signo);
  }
  // After a SIGPIPE: whoever read the output is gone. What is still buffered or printed goes
  // to /dev/null from here on, and a SIGPIPE an earlier write raised is taken, so none is
  // left pending when the mask is restored. SIGPIPE keeps its default action in the runner
  // and in every case: what it does to a writer is under test.
  void output_closed() {
    if (const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC); null >= 0) {
      ::dup2(null, STDOUT_FILENO);
      ::close(null);
    }
    take_pending_sigpipes();
  }

 private:
  sigset_t set_{}, previous_{};
  int fd_ = -1;
};

// One case on its way through: a first run, maybe a run again after its server died, and
// maybe a traced re-run.
struct Attempt {
  std::size_t index;  // into the case list
  bool traced = false;
  std::optional<CaseResult> first_result;  // the failure being re-run under strace
  std::string server_death;                // the server died running this case once: how
};

// The files of one attempt, in the run dir.
struct AttemptFiles {
  std::filesystem::path work_dir, result, output, request, trace;
  bool own_work_dir = false;  // made for this attempt (a one-shot case), not its worker's
};

struct Running {
  Attempt attempt;
  std::uint64_t id = 0;
  AttemptFiles files;
  std::optional<OneShot> one_shot;  // else served by the slot's server
  bool started = false;
  Clock::time_point sent_at{}, started_at{}, deadline = Clock::time_point::max();
  pid_t case_pid = 0, server_pid = 0;  // as the server saw them (host pids on most targets)
  std::optional<HangWatch> watch;
  Clock::time_point next_look{};
  CaseEnd end;  // filled in as the case is stopped
  std::optional<Clock::time_point> kill_sent;
  std::uintmax_t server_log_from = 0;  // the server's log before this case: the rest is its
};

// A worker: its case server, the case it runs, and its dir. Every case the server runs uses
// that dir, emptied between cases (by the server, then checked here): the dir the server
// started in is the cases' cwd from the kernel's point of view too (proot emulates chdir(),
// and resolves a relative sun_path given to sendto() against the dir it started in:
// ci/FINDINGS.md).
struct Slot {
  std::unique_ptr<CaseServerLink> server;
  std::optional<Running> running;
  std::filesystem::path dir;
};

class Run {
 public:
  Run(const std::vector<CaseInfo>& cases, const RunOptions& options, const RunObserver& observer)
      : cases_(cases),
        options_(options),
        observer_(observer),
        target_(options.target ? *options.target : native_target()),
        run_dir_(make_run_dir()),
        trace_dir_(options.report_dir / "traces"),
        // Every process of the run has the run dir as its TMPDIR, so a temp file any of them
        // leaves (a wrapper killed at a stop: runsc's and proot's) goes with the run dir.
        base_env_(environment_with(
            {"TMPDIR=" + run_dir_.string()},
            {protocol::kVariablePrefix, "RC_PARAMS=", "GTEST_", "TMPDIR=", "LD_PRELOAD="})) {
    if (!options.preload.empty()) base_env_.push_back("LD_PRELOAD=" + options.preload.string());
    results_.resize(cases.size());
    done_.assign(cases.size(), false);
    // The Model/ properties take longest (each runs a hundred scripted cases): they start
    // first, and the other cases fill the slots around them.
    for (std::size_t i = 0; i < cases.size(); ++i)
      if (cases[i].name.starts_with("Model/")) queue_.push_back({i});
    for (std::size_t i = 0; i < cases.size(); ++i)
      if (!cases[i].name.starts_with("Model/")) queue_.push_back({i});
    slots_.resize(static_cast<std::size_t>(std::max(1, options.jobs)));
    for (std::size_t s = 0; s < slots_.size(); ++s) slots_[s].dir = make_worker_dir(s);
    can_trace_ = target_.trace != TracePlacement::kNone && kStrace.installed();
    if (options.trace != TraceMode::kNever) {
      if (target_.trace == TracePlacement::kNone)
        trace_note_ = target_.no_trace_reason + ", so failures on this target have no trace";
      else if (!kStrace.installed())
        trace_note_ = "strace is not installed, so failures have no trace (apt-get install strace)";
      else
        tracing_ = true;
    }
    // Hang verdicts need the case's processes in the host's /proc, with their syscalls.
    watching_ = options.hang_after.count() > 0 && target_.host_pids &&
                ::access("/proc/self/syscall", R_OK) == 0;
  }

  ~Run() { stop_everything(); }

  RunSummary go() {
    const auto started = Clock::now();
    StopSignals signals;
    while (!interrupted_by_ && (!queue_.empty() || busy())) {
      for (std::size_t s = 0; s < slots_.size() && !queue_.empty(); ++s) {
        if (slots_[s].running) continue;
        Attempt attempt = std::move(queue_.front());
        queue_.pop_front();
        start(s, std::move(attempt));
      }
      wait_for_events(signals);
    }
    // A stop signal that came with the last case's end is still a stop; left pending, it would
    // kill the runner when the mask is restored.
    if (!interrupted_by_) interrupted_by_ = signals.take();
    if (interrupted_by_ == SIGPIPE) signals.output_closed();
    if (interrupted_by_) stop_everything(&signals);
    RunSummary summary;
    summary.total = cases_.size();
    summary.interrupted_by = interrupted_by_;
    summary.trace_note = trace_note_;
    summary.target = target_.name;
    summary.target_version = options_.target_state.version;
    summary.kernel = options_.target_state.kernel;
    summary.libc = target_.libc(options_.target_state);
    for (std::size_t i = 0; i < cases_.size(); ++i)
      if (done_[i]) summary.results.push_back(results_[i]);
    summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return summary;
  }

 private:
  bool busy() const {
    return std::any_of(slots_.begin(), slots_.end(),
                       [](const Slot& s) { return s.running.has_value(); });
  }

  // The variables of the contract for one attempt, as the case will see them.
  std::vector<std::string> case_variables(const AttemptFiles& files, const Attempt& attempt) const {
    const auto budget = std::max(options_.timeout - kHarnessMargin, options_.timeout / 2);
    std::vector<std::string> env = {
        fmt::format("{}={}", protocol::kCaseDirVariable, guest(files.work_dir)),
        fmt::format("{}={}", protocol::kCaseTimeoutVariable, budget.count())};
    if (const std::string actor = actor_command(); !actor.empty())
      env.push_back(fmt::format("{}={}", protocol::kActorVariable, actor));
    if (attempt.traced)
      env.push_back(fmt::format("{}={}", protocol::kTraceDirVariable, guest(trace_dir_)));
    const auto& fault = cases_[attempt.index].fault_variables;
    env.insert(env.end(), fault.begin(), fault.end());
    env.push_back(fmt::format("{}={}", protocol::kCounterexampleDirVariable,
                              guest(options_.report_dir / "counterexamples")));
    // The user's RC_PARAMS (seed=, max_success=) reach every property; a traced re-run adds
    // reproduce=, which replays only the counterexample the first run found.
    const std::string& reproduce =
        attempt.first_result ? attempt.first_result->rapidcheck_reproduce : std::string();
    env.push_back(fmt::format("RC_PARAMS={}{}", user_rapidcheck_params_,
                              reproduce.empty() ? "verbose_progress=0" : "reproduce=" + reproduce));
    return env;
  }

  std::filesystem::path make_worker_dir(std::size_t s) {
    const auto dir = run_dir_ / fmt::format("w{}-{}", s + 1, ++worker_dirs_);
    if (::mkdir(dir.c_str(), 0755) != 0)
      throw RunnerError(fmt::format("cannot make {}: {}", dir.string(), std::strerror(errno)));
    return dir;
  }

  // How a scripted case starts its actors (SOCKSPEC_ACTOR: the command's words, one a line):
  // the chosen program, wrapped again where the target does not follow exec; "" for the
  // default program, natively.
  std::string actor_command() const {
    std::string program = options_.actor_program;
    if (!target_.exec_escapes) return program;
    if (program.empty()) program = (options_.suite.parent_path() / "sockspec-actor").string();
    const auto words = target_.wrap(target_, {program}, {run_dir_, run_dir_});
    return fmt::format("{}", fmt::join(words, "\n"));
  }

  std::string guest(const std::filesystem::path& host_path) const {
    return target_.guest_view(host_path.string(), run_dir_);
  }

  void start(std::size_t s, Attempt attempt) {
    const CaseInfo& info = cases_[attempt.index];
    Slot& slot = slots_[s];
    Running r;
    r.id = ++attempts_;
    const std::string stem = std::to_string(r.id);
    // A case under an injected fault runs under strace, which injects it, whatever --trace
    // says of the traces of failures.
    const bool injected = !info.strace_inject.empty() && can_trace_;
    const bool traced =
        injected || (tracing_ && (attempt.traced || options_.trace == TraceMode::kAlways));
    attempt.traced = traced;
    // The worker's server runs the case, unless it is traced (its trace must show that case
    // alone) or the target wants a wrapper of its own for each case.
    const bool served = !traced && target_.case_server;
    r.files = {served ? slot.dir : run_dir_ / stem,
               run_dir_ / (stem + ".result"),
               run_dir_ / (stem + ".log"),
               run_dir_ / (stem + ".request"),
               {},
               !served};
    if (!served && ::mkdir(r.files.work_dir.c_str(), 0755) != 0)
      throw RunnerError(
          fmt::format("cannot make {}: {}", r.files.work_dir.string(), std::strerror(errno)));
    if (traced) {
      std::filesystem::create_directories(trace_dir_);
      r.files.trace = trace_dir_ / (case_file_name(info.name) + ".strace");
    }
    protocol::CaseRequest request{
        .id = r.id,
        .kind = info.scripted() ? protocol::CaseKind::kScript : protocol::CaseKind::kGoogleTest,
        .name = info.test_name.empty() ? info.name : info.test_name,
        .script = guest(info.script),
        .work_dir = guest(r.files.work_dir),
        .result_file = guest(r.files.result),
        .output_file = guest(r.files.output),
        .env = case_variables(r.files, attempt),
        .reused_work_dir = served,
        .own_session = served};
    if (!attempt.traced && observer_.started && attempt.server_death.empty())
      observer_.started(info);
    r.attempt = std::move(attempt);
    if (!served) {
      write_file(r.files.request, protocol::to_json(request));
      std::vector<std::string> env = base_env_;
      env.insert(env.end(), request.env.begin(), request.env.end());
      r.one_shot.emplace(OneShotLaunch{.target = &target_,
                                       .program = options_.suite,
                                       .request_file = r.files.request,
                                       .run_dir = run_dir_,
                                       .work_dir = r.files.work_dir,
                                       .output_log = r.files.output,
                                       .env = std::move(env),
                                       .trace_file = r.files.trace,
                                       .inject = info.strace_inject});
      mark_started(r, r.one_shot->pid(), 0);
    } else {
      if (!slot.server || slot.server->dead())
        slot.server = std::make_unique<CaseServerLink>(
            target_, options_.suite, WrapPlace{run_dir_, slot.dir}, base_env_,
            run_dir_ / fmt::format("server-{}.log", s + 1));
      r.server_log_from = slot.server->log_size();
      slot.server->run(request);
      r.sent_at = Clock::now();
    }
    slot.running = std::move(r);
  }

  void mark_started(Running& r, pid_t case_pid, pid_t server_pid) {
    r.started = true;
    r.started_at = Clock::now();
    r.deadline = r.started_at + options_.timeout;
    r.case_pid = case_pid;
    r.server_pid = server_pid;
    if (watching_ && case_pid > 0) {
      r.watch.emplace(options_.hang_after);
      r.next_look = r.started_at + kFirstLook;
    }
  }

  // Waits until something happens: a reply, a case's end, a deadline, a look for a hang,
  // a stop signal.
  void wait_for_events(StopSignals& signals) {
    std::vector<pollfd> fds{{signals.fd(), POLLIN, 0}};
    auto next = Clock::time_point::max();
    for (const Slot& slot : slots_) {
      if (!slot.running) continue;
      const Running& r = *slot.running;
      if (r.one_shot)
        fds.push_back({r.one_shot->pidfd(), POLLIN, 0});
      else
        fds.push_back({slot.server->reply_fd(), POLLIN, 0});
      next = std::min(next, r.kill_sent ? *r.kill_sent + kKillAnswerLimit
                            : r.started ? r.deadline
                                        : r.sent_at + kStartLimit);
      if (r.watch && !r.kill_sent) next = std::min(next, r.next_look);
      if (r.one_shot && r.one_shot->pidfd() < 0)  // no pidfd: look again soon
        next = std::min(next, Clock::now() + std::chrono::milliseconds(5));
    }
    const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
    ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait_ms, 0, 60'000)));
    if (fds[0].revents & POLLIN) {
      interrupted_by_ = signals.take();
      if (interrupted_by_) return;
    }
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      if (!slots_[s].running) continue;
      if (slots_[s].running->one_shot)
        check_one_shot(s);
      else
        check_served(s);
    }
    // Orphans reach the runner only when a server or a one-shot case process died: a look
    // now and then finds them.
    if (Clock::now() >= next_orphan_sweep_) {
      reap_orphans();
      next_orphan_sweep_ = Clock::now() + kOrphanSweepInterval;
    }
  }

  void check_served(std::size_t s) {
    Slot& slot = slots_[s];
    pollfd pfd{slot.server->reply_fd(), POLLIN, 0};
    if (::poll(&pfd, 1, 0) > 0) {
      for (const auto& reply : slot.server->read_replies()) {
        Running& r = *slot.running;
        if (reply.id != r.id) continue;
        if (reply.kind == protocol::ServerReply::Kind::kStarted) {
          mark_started(r, static_cast<pid_t>(reply.pid), static_cast<pid_t>(reply.server_pid));
        } else {
          r.end.exit = reply.exit;
          if (r.end.stopped_by == CaseEnd::StoppedBy::kDeadline) r.end.processes = reply.processes;
          conclude(s);
          return;
        }
      }
      if (slot.server->dead()) return server_died(s);
    }
    Running& r = *slot.running;
    const auto now = Clock::now();
    if (r.kill_sent) {
      // The server did not report the end of the case it was told to kill: it is stuck.
      if (now >= *r.kill_sent + kKillAnswerLimit) {
        r.end.exit = ExitStatus::killed_by(SIGKILL);
        slot.server.reset();
        conclude(s);
      }
      return;
    }
    if (!r.started) {
      if (now >= r.sent_at + kStartLimit) {
        slot.server->kill(r.id, false);  // and, being silent, it is killed as dead
        return server_died(s);
      }
      return;
    }
    if (now >= r.deadline) {
      r.end.stopped_by = CaseEnd::StoppedBy::kDeadline;
      r.kill_sent = now;
      slot.server->kill(r.id, true);
      return;
    }
    if (r.watch && now >= r.next_look) {
      r.next_look = now + HangWatch::kInterval;
      if (auto report = r.watch->look(processes_of(r), now)) {
        r.end.stopped_by = CaseEnd::StoppedBy::kHangVerdict;
        r.end.processes = *report;
        r.kill_sent = now;
        slot.server->kill(r.id, false);
      }
    }
  }

  void check_one_shot(std::size_t s) {
    Running& r = *slots_[s].running;
    if (auto exit = r.one_shot->try_reap()) {
      r.end.exit = *exit;
      return conclude(s);
    }
    const auto now = Clock::now();
    if (now >= r.deadline) {
      r.end.stopped_by = CaseEnd::StoppedBy::kDeadline;
      r.end.exit = r.one_shot->stop(r.end.processes);
      return conclude(s);
    }
    if (r.watch && now >= r.next_look) {
      r.next_look = now + HangWatch::kInterval;
      if (auto report = r.watch->look(processes_of(r), now)) {
        r.end.stopped_by = CaseEnd::StoppedBy::kHangVerdict;
        r.end.processes = *report;
        std::string ignored;
        r.end.exit = r.one_shot->stop(ignored);
        conclude(s);
      }
    }
  }

  // The case's processes as host pids: its first process and everything below it, and what
  // its server inherited from it (orphans re-parented to the server).
  static std::vector<pid_t> processes_of(const Running& r) {
    std::vector<pid_t> all{r.case_pid};
    for (pid_t pid : descendants_of(r.case_pid)) all.push_back(pid);
    if (r.server_pid > 0)
      for (pid_t orphan : children_of(r.server_pid)) {
        if (orphan == r.case_pid) continue;
        all.push_back(orphan);
        for (pid_t pid : descendants_of(orphan)) all.push_back(pid);
      }
    return all;
  }

  // The server died. The case it was running is run once more by a new server, and
  // reported failed if that one dies too.
  void server_died(std::size_t s) {
    Slot& slot = slots_[s];
    const std::string how = slot.server->how_it_died();
    slot.server.reset();
    Running r = std::move(*slot.running);
    slot.running.reset();
    remove_files(s, r.files);
    if (r.end.stopped_by != CaseEnd::StoppedBy::kNothing || !r.attempt.server_death.empty()) {
      // It died while being told to stop the case, or for the second time: that is the end.
      CaseResult result;
      result.info = cases_[r.attempt.index];
      result.status =
          r.end.stopped_by == CaseEnd::StoppedBy::kHangVerdict ? Status::kHung : Status::kFailed;
      result.message = r.attempt.server_death.empty()
                           ? how
                           : fmt::format(
                                 "the case server died twice while running this case; "
                                 "first: {}\nthen: {}",
                                 r.attempt.server_death, how);
      if (!r.end.processes.empty()) result.message += "\nits processes were:\n" + r.end.processes;
      record(r.attempt, std::move(result));
      return;
    }
    r.attempt.server_death = how;
    queue_.push_front(std::move(r.attempt));
    reap_orphans();  // the case the server ran, if it outlived it
  }

  // Removes an attempt's files. A worker dir that cannot be emptied (a mount that will not
  // go) is left, and the worker starts again in a new one.
  void remove_files(std::size_t s, const AttemptFiles& f) {
    if (f.own_work_dir) {
      remove_tree(f.work_dir);
    } else if (!empty_dir(f.work_dir)) {  // the server emptied it; this only checks
      slots_[s].server.reset();
      slots_[s].dir = make_worker_dir(s);
    }
    for (const auto& file : {f.result, f.output, f.request}) ::unlink(file.c_str());
  }

  void conclude(std::size_t s) {
    Running r = std::move(*slots_[s].running);
    slots_[s].running.reset();
    if (r.one_shot && target_.clean_up_after) target_.clean_up_after(r.one_shot->pid());
    r.end.seconds = std::chrono::duration<double>(Clock::now() - r.started_at).count();
    const std::optional<protocol::ResultRecord> record_of_case =
        protocol::read_record(r.files.result.string());
    // What the target's wrapper wrote while the case ran (memcheck's reports) is its output.
    std::string output = read_file(r.files.output);
    if (!r.one_shot && slots_[s].server) output += slots_[s].server->log_since(r.server_log_from);
    CaseResult result = evaluate(cases_[r.attempt.index], record_of_case, std::move(output), r.end,
                                 {options_.timeout, options_.hang_after, options_.suite});
    remove_files(s, r.files);
    Attempt& attempt = r.attempt;
    if (!attempt.server_death.empty())
      result.note =
          fmt::format("its first run was lost, and this is its second: {}", attempt.server_death);

    if (is_failure(result.status) && result.status != Status::kUnexpectedPass && !attempt.traced &&
        options_.trace == TraceMode::kFail && tracing_) {
      queue_.push_front({attempt.index, true, std::move(result), {}});
      return;
    }
    if (attempt.traced) {
      if (!r.files.trace.empty() && std::filesystem::exists(r.files.trace))
        result.traces.insert(result.traces.begin(), "traces/" + r.files.trace.filename().string());
      if (attempt.first_result) {
        CaseResult first = std::move(*attempt.first_result);
        if (!is_failure(result.status))
          first.trace_note = "the traced re-run did not fail, so the trace shows a passing run";
        first.output += "\n--- traced re-run ---\n" + result.output;
        first.traces = result.traces;
        result = std::move(first);
      }
    }
    record(attempt, std::move(result));
  }

  void record(const Attempt& attempt, CaseResult result) {
    apply_expectations(options_.expectations, result);
    results_[attempt.index] = result;
    done_[attempt.index] = true;
    if (observer_.finished) observer_.finished(results_[attempt.index]);
  }

  // A process whose parent died is re-parented to the runner (a child subreaper). One that
  // belongs to no server and no running case is killed, with everything below it.
  void reap_orphans() {
    for (pid_t child : children_of(::getpid())) {
      const bool ours = std::any_of(slots_.begin(), slots_.end(), [&](const Slot& slot) {
        return (slot.server && slot.server->pid() == child) ||
               (slot.running && slot.running->one_shot && slot.running->one_shot->pid() == child);
      });
      if (ours) continue;
      for (pid_t below : descendants_of(child)) ::kill(below, SIGKILL);
      ::kill(child, SIGKILL);
      orphans_.insert(child);
    }
    // Only the orphans are reaped here: a waitpid(-1) would also take the end of a server or
    // of a one-shot case from under its Child, which would then wait for it in vain.
    std::erase_if(orphans_, [](pid_t orphan) { return ::waitpid(orphan, nullptr, WNOHANG) != 0; });
  }

  // After a stop signal (or as the run is destroyed): the cases that were running are
  // recorded as interrupted, every process of the run is killed, the run dir removed. A
  // second stop signal while this waits ends the wait at once.
  void stop_everything(StopSignals* signals = nullptr) {
    std::vector<pid_t> one_shots_stopped;
    for (auto& slot : slots_) {
      if (!slot.running) continue;
      Running& r = *slot.running;
      if (interrupted_by_) {
        CaseEnd end;
        end.stopped_by = CaseEnd::StoppedBy::kInterrupt;
        end.interrupt_signal = interrupted_by_;
        end.seconds =
            r.started ? std::chrono::duration<double>(Clock::now() - r.started_at).count() : 0;
        record(r.attempt, evaluate(cases_[r.attempt.index], std::nullopt, "", end,
                                   {options_.timeout, options_.hang_after, options_.suite}));
      }
      if (r.one_shot && target_.clean_up_after) one_shots_stopped.push_back(r.one_shot->pid());
      slot.running.reset();
    }
    queue_.clear();
    // At the end of a run the servers, idle, are told to stop (their input ends) and their
    // wrappers clean up after themselves; after a stop signal there is no waiting. Then
    // everything left is killed and reaped: the sessions of servers and one-shot cases, and
    // any orphan.
    if (!interrupted_by_) {
      for (auto& slot : slots_)
        if (slot.server) slot.server->end_input();  // all at once, then each is waited for
      for (auto& slot : slots_) slot.server.reset();
    }
    for (pid_t child : children_of(::getpid())) ::kill(-child, SIGKILL);
    const auto until = Clock::now() + kCleanupLimit;
    while (!kill_descendants(::getpid(),
                             std::min(until, Clock::now() + std::chrono::milliseconds(50)))) {
      if (Clock::now() >= until) break;
      if (signals && signals->take()) break;  // a second signal: stop at once
    }
    for (auto& slot : slots_) slot.server.reset();
    for (pid_t pid : one_shots_stopped) target_.clean_up_after(pid);
    remove_tree(run_dir_);
  }

  const std::vector<CaseInfo>& cases_;
  const RunOptions& options_;
  const RunObserver& observer_;
  const Target& target_;
  std::filesystem::path run_dir_;
  std::filesystem::path trace_dir_;
  // RC_PARAMS as the user set it, with a trailing space ("" when unset).
  const std::string user_rapidcheck_params_ = [] {
    const char* given = std::getenv("RC_PARAMS");
    return given && *given ? std::string(given) + " " : std::string();
  }();
  std::vector<std::string> base_env_;
  bool tracing_ = false;    // failures are traced
  bool can_trace_ = false;  // strace is installed, and the target lets it run
  bool watching_ = false;
  std::string trace_note_;
  std::deque<Attempt> queue_;
  std::vector<Slot> slots_;
  std::uint64_t attempts_ = 0;
  int worker_dirs_ = 0;
  int interrupted_by_ = 0;
  Clock::time_point next_orphan_sweep_{};
  std::set<pid_t> orphans_;  // killed, not yet reaped
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
