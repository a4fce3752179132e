// What the kernel says about a process in /proc: is it running, or blocked, and in which
// syscall. This is how a case observes "this call blocks" instead of guessing with a sleep:
// /proc/PID/stat field 3 is the scheduler state ('S' = interruptible sleep) and
// /proc/PID/syscall starts with the number of the syscall the process is blocked in
// (proc(5)). Where /proc/PID/syscall does not exist (gVisor's /proc has none), a process
// asleep counts as blocked: the syscall cannot be checked there, only the sleep.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sockspec {

// Whether two syscall numbers are the same call for "blocked in": accept() may reach the
// kernel as accept4() (qemu-user translates it so, and a libc may implement one with the
// other).
inline bool same_call(long a, long b) {
  auto plain = [](long nr) { return nr == SYS_accept4 ? SYS_accept : nr; };
  return plain(a) == plain(b);
}

struct ProcessState {
  char state = '?';              // R, S, D, T, t, Z ... ('?' when the process is gone)
  std::optional<long> syscall;   // set while the process is inside a syscall
  bool syscall_unknown = false;  // this kernel's /proc has no PID/syscall file
  std::string comm;              // the process name (peers are named "peer:NAME")

  bool gone() const { return state == '?'; }
  // Where /proc does not name the syscall (gVisor), only an interruptible sleep counts: a
  // task in D there is doing I/O (gVisor's gofer), not waiting for another process.
  bool blocked_in(long syscall_number) const {
    if (syscall_unknown) return state == 'S';
    return (state == 'S' || state == 'D') && syscall && same_call(*syscall, syscall_number);
  }
  // "blocked in recvfrom (state S)", "running (state R)", "gone"
  std::string describe() const;
};

ProcessState read_process_state(pid_t pid);

// Every process whose process group is `pgid` (from /proc/PID/stat field 5).
std::vector<pid_t> processes_in_group(pid_t pgid);

// The process group of `pid` (0 when the process is gone).
pid_t process_group_of(pid_t pid);

// Every process whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent);

// Every process below `root` in the process tree (children, their children, ...), parents
// before their children; `root` itself not included.
std::vector<pid_t> descendants_of(pid_t root);

// SIGKILLs every process below `root` and reaps those that are `root`'s children, until none
// is left or `until` passes. For a child subreaper (the runner, a case server), whose orphaned
// grandchildren come back to it as children while this runs. True when none is left.
bool kill_descendants(pid_t root, std::chrono::steady_clock::time_point until);

// Whether `sig` is pending for `pid` (sent but not yet delivered): SigPnd or ShdPnd in
// /proc/PID/status. A signal sent with kill() is pending at once; once the bit clears, the
// signal has been delivered (its handler ran or is running).
bool signal_pending(pid_t pid, int sig);

// The status a zombie will give waitpid() (/proc/PID/stat field 52), or -1 while the
// process is not (yet) a zombie.
int zombie_exit_code(pid_t pid);

// The pid of the process tracing `pid` (0 when none), from /proc/PID/status TracerPid.
pid_t tracer_of(pid_t pid);

// This process's tracer when it is not a strace (proot, which runs the case through ptrace),
// with its name; pid 0 when there is none. Our own strace may be left out of a child's way
// (CLONE_UNTRACED); such a tracer may not: it is the target.
struct ForeignTracer {
  pid_t pid = 0;
  std::string name;
};
ForeignTracer foreign_tracer();

}  // namespace sockspec
