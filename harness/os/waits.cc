#include "os/waits.h"

#include <dirent.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
// glibc 2.36 declares the pidfd functions without C linkage in C++.
extern "C" {
#include <sys/pidfd.h>
}
#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "os/fd.h"
#include "os/files.h"
#include "os/names.h"

namespace sockspec {

namespace {

std::vector<pid_t> task_ids(pid_t pid) {
  std::vector<pid_t> tids;
  DIR* dir = ::opendir(fmt::format("/proc/{}/task", pid).c_str());
  if (!dir) return tids;
  while (const dirent* entry = ::readdir(dir)) {
    pid_t tid = 0;
    const char* name = entry->d_name;
    const auto [end, ec] = std::from_chars(name, name + std::strlen(name), tid);
    if (ec == std::errc() && *end == '\0') tids.push_back(tid);
  }
  ::closedir(dir);
  return tids;
}

std::uint64_t status_number(const std::string& status, std::string_view key) {
  const auto at = status.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + key.size(), nullptr, 0);
}

std::uint64_t status_mask(const std::string& status, std::string_view key) {
  const auto at = status.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + key.size(), nullptr, 16);
}

TaskSample sample_task(pid_t pid, pid_t tid) {
  TaskSample s;
  s.pid = pid;
  s.tid = tid;
  const std::string base = fmt::format("/proc/{}/task/{}/", pid, tid);
  // stat: "tid (comm) state ppid ... utime(14) stime(15) ..."; comm may hold ')'.
  const std::string stat = read_file(base + "stat");
  const auto open = stat.find('(');
  const auto close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return s;
  s.comm = stat.substr(open + 1, close - open - 1);
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string field; fields >> field && f.size() < 14;) f.push_back(field);
  if (f.empty()) return s;
  s.state = f[0][0];
  if (f.size() >= 14) s.activity = std::stoull(f[11]) + std::stoull(f[12]);
  const std::string status = read_file(base + "status");
  s.activity += status_number(status, "voluntary_ctxt_switches:") +
                status_number(status, "nonvoluntary_ctxt_switches:");

  const std::string syscall = read_file(base + "syscall");
  if (syscall.empty()) {
    s.syscall_unknown = ::access((base + "syscall").c_str(), F_OK) != 0;
    return s;
  }
  if (syscall.starts_with("running")) return s;
  std::istringstream words(syscall);
  long nr = -1;
  words >> nr;
  if (nr < 0) return s;  // stopped outside a syscall
  s.syscall = nr;
  for (auto& arg : s.args) {
    std::string word;
    if (!(words >> word)) break;
    arg = std::strtoull(word.c_str(), nullptr, 16);
  }
  return s;
}

// What fd `fd` of `pid` is: "socket:[123]", "pipe:[45]", "anon_inode:[timerfd]", a path.
std::string fd_target(pid_t pid, std::uint64_t fd) {
  char link[256];
  const ssize_t n =
      ::readlink(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), link, sizeof link - 1);
  return n > 0 ? std::string(link, static_cast<std::size_t>(n)) : "";
}

// SO_RCVTIMEO or SO_SNDTIMEO of the socket that is fd `fd` of `pid`, read through a copy of
// the fd (pidfd_getfd). nullopt when it cannot be read.
std::optional<timeval> socket_timeout(pid_t pid, std::uint64_t fd, int option) {
  Fd pidfd(::pidfd_open(pid, 0));
  if (!pidfd.valid()) return std::nullopt;
  Fd copy(::pidfd_getfd(pidfd.get(), static_cast<int>(fd), 0));
  if (!copy.valid()) return std::nullopt;
  timeval tv{};
  socklen_t length = sizeof tv;
  if (::getsockopt(copy.get(), SOL_SOCKET, option, &tv, &length) != 0) return std::nullopt;
  return tv;
}

// Reads `length` bytes at `address` in `pid`: process_vm_readv(), or /proc/PID/mem where the
// kernel has no cross-memory attach (this machine's gives ENOSYS).
bool read_memory(pid_t pid, std::uint64_t address, void* into, std::size_t length) {
  const iovec local{into, length};
  const iovec remote{reinterpret_cast<void*>(address), length};
  if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(length))
    return true;
  const Fd mem(::open(fmt::format("/proc/{}/mem", pid).c_str(), O_RDONLY | O_CLOEXEC));
  return mem.get() >= 0 && ::pread(mem.get(), into, length, static_cast<off_t>(address)) ==
                               static_cast<ssize_t>(length);
}

// The fds a poll()/ppoll() waits on, from its pollfd array in the task's memory.
std::optional<std::vector<int>> polled_fds(pid_t pid, std::uint64_t array, std::uint64_t count) {
  if (count == 0 || count > 256) return std::nullopt;
  std::vector<pollfd> fds(count);
  if (!read_memory(pid, array, fds.data(), count * sizeof(pollfd))) return std::nullopt;
  std::vector<int> out;
  for (const auto& p : fds) out.push_back(p.fd);
  return out;
}

// Whether a ppoll()'s timeout (a struct timespec at `timeout`, NULL for none) ends the wait
// in any time a case lasts. qemu-user makes a guest's poll(fds, n, -1) a ppoll() with a
// timeout of 4294967 s, the int -1 taken for an unsigned count of milliseconds: a wait of
// 49 days is a wait for others.
bool ppoll_times_out(pid_t pid, std::uint64_t timeout) {
  if (timeout == 0) return false;
  timespec ts{};
  if (!read_memory(pid, timeout, &ts, sizeof ts)) return true;  // taken at its word
  constexpr long kLongerThanAnyCase = 24 * 3600;
  return ts.tv_sec < kLongerThanAnyCase;
}

bool receives(long nr) {
  return nr == SYS_read || nr == SYS_readv || nr == SYS_recvfrom || nr == SYS_recvmsg ||
         nr == SYS_recvmmsg || nr == SYS_accept || nr == SYS_accept4;
}
bool sends(long nr) {
  return nr == SYS_write || nr == SYS_writev || nr == SYS_sendto || nr == SYS_sendmsg ||
         nr == SYS_sendmmsg || nr == SYS_connect;
}

// A call on fd args[0]: a socket with a timeout waits for time; a timerfd too; anything
// else (a socket without one, a pipe, a FIFO) waits for the other end.
TaskWait judge_fd_wait(const TaskSample& t, const std::string& call, int harness_fd_floor) {
  const std::uint64_t fd = t.args[0];
  if (fd >= static_cast<std::uint64_t>(harness_fd_floor))
    return {WaitKind::kForOthers, fmt::format("{} on the harness channel (fd {})", call, fd)};
  const std::string target = fd_target(t.pid, fd);
  if (target.empty()) return {WaitKind::kUnknown, fmt::format("{} on fd {}", call, fd)};
  if (target == "anon_inode:[timerfd]")
    return {WaitKind::kForTime, fmt::format("{} on fd {}, a timerfd", call, fd)};
  if (!target.starts_with("socket:"))
    return {WaitKind::kForOthers, fmt::format("{} on fd {} ({})", call, fd, target)};
  const int option = receives(*t.syscall) ? SO_RCVTIMEO : SO_SNDTIMEO;
  const char* option_name = option == SO_RCVTIMEO ? "SO_RCVTIMEO" : "SO_SNDTIMEO";
  const auto timeout = socket_timeout(t.pid, fd, option);
  if (!timeout)
    return {WaitKind::kUnknown,
            fmt::format("{} on fd {}, a socket whose {} cannot be read", call, fd, option_name)};
  if (timeout->tv_sec != 0 || timeout->tv_usec != 0)
    return {WaitKind::kForTime, fmt::format("{} on fd {}, a socket with {} {}.{:06} s", call, fd,
                                            option_name, timeout->tv_sec, timeout->tv_usec)};
  return {WaitKind::kForOthers,
          fmt::format("{} on fd {}, a socket with no {}", call, fd, option_name)};
}

// poll()/ppoll() with a timeout waits for time, unless every fd is a harness channel.
TaskWait judge_poll(const TaskSample& t, const std::string& call, bool timed,
                    int harness_fd_floor) {
  const auto fds = polled_fds(t.pid, t.args[0], t.args[1]);
  if (fds && !fds->empty() &&
      std::all_of(fds->begin(), fds->end(), [&](int fd) { return fd >= harness_fd_floor; }))
    return {WaitKind::kForOthers, fmt::format("{} on the harness channel", call)};
  if (timed) return {WaitKind::kForTime, fmt::format("{} with a timeout", call)};
  return {WaitKind::kForOthers, fmt::format("{} with no timeout", call)};
}

TaskWait timed_if(bool timed, const std::string& call) {
  return timed ? TaskWait{WaitKind::kForTime, call + " with a timeout"}
               : TaskWait{WaitKind::kForOthers, call + " with no timeout"};
}

TaskWait judge_syscall(const TaskSample& t, int harness_fd_floor) {
  const long nr = *t.syscall;
  const std::string call = syscall_name(nr);
  const auto& a = t.args;
  switch (nr) {
    case SYS_poll:
      return judge_poll(t, call, static_cast<int>(a[2]) >= 0, harness_fd_floor);
    case SYS_ppoll:
      return judge_poll(t, call, ppoll_times_out(t.pid, a[2]), harness_fd_floor);
    case SYS_select:
    case SYS_pselect6:
      return timed_if(a[4] != 0, call);
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
      return timed_if(static_cast<int>(a[3]) >= 0, call);
    case SYS_epoll_pwait2:
      return timed_if(a[3] != 0, call);
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_restart_syscall:  // an interrupted sleep or timed wait, resumed
      return {WaitKind::kForTime, call};
    case SYS_rt_sigtimedwait:
      return timed_if(a[2] != 0, call);
    case SYS_futex: {
      const auto op = a[1] & FUTEX_CMD_MASK;
      const bool waits = op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET || op == FUTEX_LOCK_PI ||
                         op == FUTEX_WAIT_REQUEUE_PI || op == FUTEX_LOCK_PI2;
      if (!waits) return {WaitKind::kUnknown, call};
      return timed_if(a[3] != 0, call);
    }
    case SYS_wait4:
    case SYS_waitid:
      return {WaitKind::kForOthers, call + " (for a child to end)"};
    case SYS_pause:
    case SYS_rt_sigsuspend:
      return {WaitKind::kForOthers, call + " (for a signal)"};
    case SYS_flock:
    case SYS_msgrcv:
    case SYS_msgsnd:
    case SYS_semop:
    case SYS_splice:
    case SYS_tee:
    case SYS_sendfile:
    case SYS_open:
    case SYS_openat:
      return {WaitKind::kForOthers, call};
    case SYS_fcntl:
      return a[1] == F_SETLKW || a[1] == F_OFD_SETLKW ? TaskWait{WaitKind::kForOthers, call}
                                                      : TaskWait{WaitKind::kUnknown, call};
    case SYS_recvmmsg:
      // Its timeout is checked only after each datagram it receives (recvmmsg(2) BUGS): one
      // that waits for a datagram waits as long as there is none, timeout or not.
      return judge_fd_wait(t, call, harness_fd_floor);
    default:
      if (receives(nr) || sends(nr)) return judge_fd_wait(t, call, harness_fd_floor);
      return {WaitKind::kUnknown, call};
  }
}

}  // namespace

std::vector<TaskSample> sample_tasks(pid_t pid) {
  std::vector<TaskSample> tasks;
  for (pid_t tid : task_ids(pid)) {
    TaskSample s = sample_task(pid, tid);
    if (s.state != '?') tasks.push_back(std::move(s));
  }
  return tasks;
}

TaskWait judge_wait(const TaskSample& t, int harness_fd_floor) {
  switch (t.state) {
    case 'R':
      return {WaitKind::kRunning, "running"};
    case 'Z':
    case 'X':
      return {WaitKind::kForOthers, "exited, not yet reaped"};
    case 'T':
      return {WaitKind::kForOthers, "stopped by a signal"};
    case 'S':
    case 'D':
      break;
    default:  // 't' (a ptrace stop: its tracer decides), '?'
      return {WaitKind::kUnknown, fmt::format("in state {}", t.state)};
  }
  if (t.syscall_unknown) return {WaitKind::kUnknown, "asleep in a syscall /proc does not name"};
  if (!t.syscall) return {WaitKind::kUnknown, "asleep outside a syscall"};
  return judge_syscall(t, harness_fd_floor);
}

bool may_have_timer(pid_t pid, const TaskSample& task) {
  const std::string timers = read_file(fmt::format("/proc/{}/timers", pid));
  if (!timers.empty()) return true;
  const std::string status = read_file(fmt::format("/proc/{}/task/{}/status", pid, task.tid));
  const std::uint64_t alarm_bit = 1ULL << (SIGALRM - 1);
  const bool caught = (status_mask(status, "SigCgt:") & alarm_bit) != 0;
  const bool blocked = (status_mask(status, "SigBlk:") & alarm_bit) != 0;
  const bool waits_for_signals =
      task.syscall && (*task.syscall == SYS_rt_sigsuspend || *task.syscall == SYS_rt_sigtimedwait ||
                       *task.syscall == SYS_pause);
  return (caught && !blocked) || ((caught || blocked) && waits_for_signals);
}

}  // namespace sockspec
