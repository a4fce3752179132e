#include "server/case_server.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "os/cleanup.h"
#include "os/clock.h"
#include "os/proc.h"
#include "protocol/case_protocol.h"
#include "server/case_entry.h"

namespace sockspec {

namespace {

// How long the server keeps killing what is left of a case before it gives up and reports.
constexpr auto kCleanupLimit = std::chrono::seconds(5);

void say(const std::string& line) {
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(0);  // the runner is gone: so is the reason to serve
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

struct RunningCase {
  std::uint64_t id = 0;
  pid_t pid = -1;                 // also its session and process group
  std::string work_dir_to_empty;  // "" when the dir is the case's own
  std::optional<ExitStatus> exit;
  std::string processes;  // what each process was doing when the runner asked to kill
};

class Server {
 public:
  Server() {
    // Every signal at its default disposition, once, so that each case process forked from
    // here starts so (case_entry.h) without resetting 64 of them itself.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &default_action, nullptr);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t child_ended;
    sigemptyset(&child_ended);
    sigaddset(&child_ended, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &child_ended, nullptr);
    signal_fd_ = ::signalfd(-1, &child_ended, SFD_NONBLOCK | SFD_CLOEXEC);
  }

  int run() {
    if (signal_fd_ < 0) {
      std::fprintf(stderr, "case server: signalfd: %s\n", std::strerror(errno));
      return 2;
    }
    bool open = true;
    while (open || current_) {
      pollfd fds[2] = {{open ? STDIN_FILENO : -1, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return 2;
      if (fds[1].revents & POLLIN) reap();
      if (fds[0].revents & (POLLIN | POLLHUP)) open = read_requests();
      if (!open && current_ && !current_->exit) kill_case(false);
    }
    return 0;
  }

 private:
  // Reads what the runner sent and acts on every complete line; false at end of input.
  bool read_requests() {
    char buffer[65536];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<std::size_t>(n));
    for (auto end = pending_.find('\n'); end != std::string::npos; end = pending_.find('\n')) {
      const std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      handle(protocol::server_request_from_json(line));
    }
    return true;
  }

  void handle(const protocol::ServerRequest& request) {
    if (request.kind == protocol::ServerRequest::Kind::kKill) {
      if (current_ && current_->id == request.id && !current_->exit) kill_case(request.describe);
      return;
    }
    if (current_) throw std::runtime_error("a case was sent while another one runs");
    start(request.run);
  }

  void start(const protocol::CaseRequest& request) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      // Reported as a case that could not start, not as a dead server.
      protocol::ResultRecord record;
      record.message = fmt::format("the case server could not fork: {}", std::strerror(errno));
      protocol::write_record(request.result_file, record);
      say(protocol::started_message(request.id, 0, ::getpid()));
      say(protocol::ended_message(request.id, ExitStatus::exited_with(kCaseFailed), ""));
      return;
    }
    if (pid == 0) {
      ::close(signal_fd_);
      run_case(request);
    }
    current_ = RunningCase{.id = request.id,
                           .pid = pid,
                           .work_dir_to_empty = request.reused_work_dir ? request.work_dir : ""};
    say(protocol::started_message(request.id, pid, ::getpid()));
  }

  // One line per process of the case: what the runner prints when it had to stop it.
  std::string describe_processes() const {
    std::string text;
    for (pid_t member : case_processes()) {
      const ProcessState state = read_process_state(member);
      if (state.gone()) continue;
      text += fmt::format("  pid {} ({}): {}\n", member, state.comm, state.describe());
    }
    return text;
  }

  // The case's process group, everything below its first process (helpers in sessions of
  // their own too), and whatever the server inherited from it.
  std::vector<pid_t> case_processes() const {
    std::vector<pid_t> all = processes_in_group(current_->pid);
    auto add = [&](pid_t pid) {
      if (std::find(all.begin(), all.end(), pid) == all.end()) all.push_back(pid);
    };
    for (pid_t pid : descendants_of(::getpid())) add(pid);
    return all;
  }

  void kill_case(bool describe) {
    if (describe) current_->processes = describe_processes();
    kill_leftovers();
  }

  void kill_leftovers() const {
    ::kill(-current_->pid, SIGKILL);
    for (pid_t child : children_of(::getpid())) ::kill(child, SIGKILL);
  }

  void reap() {
    signalfd_siginfo info{};
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;)
      if (current_ && pid == current_->pid) current_->exit = ExitStatus::from_wait_status(status);
    if (current_ && current_->exit) finish();
  }

  // The case's first process has ended: nothing of the case may outlive it.
  void finish() {
    const auto give_up = Clock::now() + kCleanupLimit;
    for (;;) {
      const bool group_gone = ::kill(-current_->pid, 0) != 0 && errno == ESRCH;
      int status = 0;
      pid_t reaped;
      while ((reaped = ::waitpid(-1, &status, WNOHANG)) > 0) {
      }
      const bool no_children = reaped < 0 && errno == ECHILD;
      if ((group_gone && no_children) || Clock::now() >= give_up) break;
      kill_leftovers();
      pollfd pfd{signal_fd_, POLLIN, 0};
      ::poll(&pfd, 1, 10);
      signalfd_siginfo info{};
      while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      }
    }
    if (!current_->work_dir_to_empty.empty()) empty_dir(current_->work_dir_to_empty);
    say(protocol::ended_message(current_->id, *current_->exit, current_->processes));
    current_.reset();
  }

  int signal_fd_ = -1;
  std::string pending_;
  std::optional<RunningCase> current_;
};

}  // namespace

int serve_cases() {
  try {
    return Server().run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "case server: %s\n", e.what());
    return 2;
  }
}

}  // namespace sockspec
