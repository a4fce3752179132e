#include "os/spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
// glibc 2.36 declares pidfd_open without C linkage in C++.
extern "C" {
#include <sys/pidfd.h>
}

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "os/proc.h"
#include "os/wait.h"

extern char** environ;

namespace sockspec {

namespace {

// What the child tells the parent through the error pipe when it cannot exec.
struct StartFailure {
  int stage;
  int error;
};
constexpr const char* kStages[] = {"set up its session",
                                   "open its stdin",
                                   "open its stdout",
                                   "open its stderr",
                                   "change to its directory",
                                   "keep its fds",
                                   "exec"};

[[noreturn]] void fail_in_child(int pipe_fd, int stage) {
  const StartFailure failure{stage, errno};
  [[maybe_unused]] const ssize_t ignored = ::write(pipe_fd, &failure, sizeof failure);
  ::_exit(127);
}

// Async-signal-safe: runs between fork() and exec.
int open_redirect(const Redirect& r, int flags_for_read) {
  switch (r.kind) {
    case Redirect::Kind::kNull:
      return ::open("/dev/null", flags_for_read ? O_RDONLY : O_WRONLY);
    case Redirect::Kind::kTruncate:
      return ::open(r.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    case Redirect::Kind::kAppend:
      return ::open(r.path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    case Redirect::Kind::kFd:
      return r.fd;
    case Redirect::Kind::kInherit:
    case Redirect::Kind::kSameAsStdout:
      break;
  }
  return -2;  // nothing to do
}

void redirect_in_child(const Redirect& r, int target, int pipe_fd, int stage) {
  if (r.kind == Redirect::Kind::kSameAsStdout) {
    if (::dup2(STDOUT_FILENO, target) < 0) fail_in_child(pipe_fd, stage);
    return;
  }
  const int fd = open_redirect(r, target == STDIN_FILENO);
  if (fd == -2) return;
  if (fd < 0 || ::dup2(fd, target) < 0) fail_in_child(pipe_fd, stage);
  if (fd != target && r.kind != Redirect::Kind::kFd) ::close(fd);
}

// Closes the open fds in [low, high] by listing /proc/self/fd, for where close_range() is
// missing (kernels before 5.9, gVisor of 2022). Closing one by one up to the fd limit would be
// 20,000 close() calls there, each a line of a traced re-run's strace. Async-signal-safe: no
// allocation, the list is read into the stack and re-read until it has nothing left to close.
bool close_listed_fds(unsigned low, unsigned high) {
  const int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  for (int pass = 0; pass < 256; ++pass) {  // 256 at a time; a close() always frees its fd
    int doomed[256];
    std::size_t count = 0;
    alignas(dirent64) char entries[4096];
    ::lseek(dir, 0, SEEK_SET);
    ssize_t length;
    while (count < std::size(doomed) && (length = ::getdents64(dir, entries, sizeof entries)) > 0) {
      for (ssize_t at = 0; at < length && count < std::size(doomed);) {
        const auto* entry = reinterpret_cast<const dirent64*>(entries + at);
        at += entry->d_reclen;
        unsigned fd = 0;
        const char* digit = entry->d_name;
        if (*digit < '0' || *digit > '9') continue;  // "." and ".."
        for (; *digit >= '0' && *digit <= '9'; ++digit) fd = fd * 10 + (*digit - '0');
        if (fd >= low && fd <= high && static_cast<int>(fd) != dir)
          doomed[count++] = static_cast<int>(fd);
      }
    }
    if (count == 0) break;
    for (std::size_t i = 0; i < count; ++i) ::close(doomed[i]);
  }
  ::close(dir);
  return true;
}

// Closes every fd from 3 up but those in `keep` (sorted): with close_range() where the kernel
// has it, else those /proc/self/fd lists, else one by one up to the fd limit.
void close_all_but(const std::vector<int>& keep) {
  unsigned from = 3;
  auto close_between = [](unsigned low, unsigned high) {
    if (low > high) return;
    if (::close_range(low, high, 0) == 0) return;
    if (close_listed_fds(low, high)) return;
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const unsigned top = static_cast<unsigned>(std::min<rlim_t>(limit.rlim_cur, 1u << 16));
    for (unsigned fd = low; fd <= high && fd < top; ++fd) ::close(static_cast<int>(fd));
  };
  for (int fd : keep) {
    if (fd < 3) continue;
    close_between(from, static_cast<unsigned>(fd) - 1);
    from = static_cast<unsigned>(fd) + 1;
  }
  close_between(from, ~0U);
}

// What the child needs between fork (or clone) and exec, prepared before.
struct ChildStart {
  const SpawnOptions* options;
  const std::vector<int>* keep;  // sorted: fds the child keeps
  char** argv;
  char** envp;
  int report;  // the error pipe's write end
};

// The stack of a child cloned with CLONE_UNTRACED: it only execs, so a small one does.
constexpr std::size_t kUntracedStack = 256 * 1024;

// Only async-signal-safe calls from here to exec: the parent may have other threads' locks in
// an unknown state (it has none today, but a library might).
int start_child(void* arg) {
  const ChildStart& s = *static_cast<ChildStart*>(arg);
  const SpawnOptions& options = *s.options;
  const int report = s.report;
  if (options.grouping == Grouping::kOwnSession && ::setsid() < 0) fail_in_child(report, 0);
  if (options.grouping == Grouping::kOwnGroup && ::setpgid(0, 0) < 0) fail_in_child(report, 0);
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  redirect_in_child(options.in, STDIN_FILENO, report, 1);
  redirect_in_child(options.out, STDOUT_FILENO, report, 2);
  redirect_in_child(options.err, STDERR_FILENO, report, 3);
  if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) fail_in_child(report, 4);
  for (int fd : options.keep_fds)
    if (::fcntl(fd, F_SETFD, 0) != 0) fail_in_child(report, 5);
  close_all_but(*s.keep);
  ::execve(s.argv[0], s.argv, s.envp);
  fail_in_child(report, 6);
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Child spawn(const SpawnOptions& options) {
  if (options.argv.empty()) throw SpawnError("spawn: no program given");
  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings;
  if (options.env) env_strings = *options.env;
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<char*> envp = c_strings(env_strings);
  char** const child_environ = options.env ? envp.data() : environ;

  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0)
    throw SpawnError(
        fmt::format("cannot start {}: pipe2: {}", options.argv[0], std::strerror(errno)));
  std::vector<int> keep = options.keep_fds;
  keep.push_back(error_pipe[1]);  // closes itself at exec (O_CLOEXEC)
  std::sort(keep.begin(), keep.end());

  ChildStart start{&options, &keep, argv.data(), child_environ, error_pipe[1]};
  pid_t pid = -1;
  // Out of our own strace's reach, never out of proot's: proot is the target.
  if (options.untraced && foreign_tracer().pid == 0) {
    std::vector<char> stack(kUntracedStack);
    pid = ::clone(start_child, stack.data() + stack.size(), CLONE_UNTRACED | SIGCHLD, &start);
  }
  // qemu-user refuses CLONE_UNTRACED (EINVAL); untraced only matters where a tracer follows
  // this process's children, which a plain fork leaves to that tracer.
  if (pid < 0) {
    pid = ::fork();
    if (pid == 0) start_child(&start);
  }
  if (pid < 0) {
    const int error = errno;
    ::close(error_pipe[0]);
    ::close(error_pipe[1]);
    throw SpawnError(
        fmt::format("cannot start {}: fork: {}", options.argv[0], std::strerror(error)));
  }
  ::close(error_pipe[1]);
  StartFailure failure{};
  ssize_t got;
  while ((got = ::read(error_pipe[0], &failure, sizeof failure)) < 0 && errno == EINTR) {
  }
  ::close(error_pipe[0]);
  Child child(pid, options.argv[0]);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    child.wait();
    throw SpawnError(fmt::format("cannot start {}: it could not {}: {}", options.argv[0],
                                 kStages[failure.stage], std::strerror(failure.error)));
  }
  return child;
}

Child::Child(pid_t pid, std::string program) : pid_(pid), program_(std::move(program)) {
  pidfd_ = ::pidfd_open(pid, 0);
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      program_(std::move(other.program_)),
      status_(std::exchange(other.status_, std::nullopt)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (running()) kill();
    close_pidfd();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    program_ = std::move(other.program_);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

Child::~Child() {
  if (running()) kill();
  close_pidfd();
}

void Child::close_pidfd() {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

void Child::forget() {
  close_pidfd();
  pid_ = -1;
}

std::optional<ExitStatus> Child::try_wait() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) status_ = ExitStatus::from_wait_status(status);
  return status_;
}

std::optional<ExitStatus> Child::wait_until(Clock::time_point until) {
  if (try_wait()) return status_;
  if (pidfd_ < 0) {
    // No pidfd: poll. The interval only decides how soon the end is seen.
    return poll_until(until, [&] {
      auto s = try_wait();
      return std::pair{s.has_value(), s};
    });
  }
  while (!try_wait()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) break;
    pollfd pfd{pidfd_, POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 60'000)));
  }
  return status_;
}

ExitStatus Child::wait() {
  if (status_ || pid_ <= 0) return status_.value_or(ExitStatus{});
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = ExitStatus::from_wait_status(status);
  return *status_;
}

bool Child::ended_by(Clock::time_point until) {
  if (status_ || pid_ <= 0) return true;
  auto ended = [&] {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
      return errno == ECHILD;  // reaped by someone else (a subreaper's sweep)
    return info.si_pid == pid_;
  };
  if (pidfd_ < 0)
    return poll_until(until, [&] {
      const bool e = ended();
      return std::pair{e, e};
    });
  while (!ended()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return false;
    pollfd pfd{pidfd_, POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 60'000)));
  }
  return true;
}

ExitStatus Child::kill_group() {
  if (status_ || pid_ <= 0) return status_.value_or(ExitStatus{});
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  return wait();
}

ExitStatus Child::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_.value_or(ExitStatus{});
  signal(SIGTERM);
  if (auto status = wait_until(Clock::now() + grace)) return *status;
  return kill();
}

ExitStatus Child::kill() {
  if (!running()) return status_.value_or(ExitStatus{});
  signal(SIGKILL);
  return wait();
}

void Child::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::vector<std::string> environment_with(const std::vector<std::string>& set,
                                          const std::vector<std::string_view>& drop_prefixes) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    const auto dropped = std::any_of(drop_prefixes.begin(), drop_prefixes.end(),
                                     [&](std::string_view p) { return entry.starts_with(p); });
    if (!dropped) env.emplace_back(entry);
  }
  env.insert(env.end(), set.begin(), set.end());
  return env;
}

Captured run_captured(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                      const std::vector<std::string>& set) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw SpawnError("pipe2 failed");
  Captured captured;
  Child child;
  try {
    child =
        spawn({.argv = argv,
               .env = set.empty() ? std::nullopt
                                  : std::optional<std::vector<std::string>>(environment_with(set)),
               .out = Redirect::to_fd(pipe_fds[1]),
               .err = Redirect::same_as_stdout(),
               .grouping = Grouping::kOwnGroup});
  } catch (const SpawnError& e) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    captured.output = e.what();
    return captured;
  }
  ::close(pipe_fds[1]);
  const auto deadline = Clock::now() + limit;
  char buffer[8192];
  bool eof = false;
  while (!eof) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      eof = true;
    else
      captured.output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (eof) captured.status = child.wait_until(deadline);
  // Whatever is left of the program (runsc's sandbox, UML's threads) goes with its group.
  ::kill(-child.pid(), SIGKILL);
  if (!captured.status) child.kill();
  return captured;
}

}  // namespace sockspec
