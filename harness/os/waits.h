// What a process of a case is waiting for, read from /proc, and whether that wait can end by
// itself. This is how the runner tells a hung case from a slow one without waiting for its
// deadline: a task asleep in recvfrom() on a socket without SO_RCVTIMEO waits for another
// process; a task in nanosleep(), in poll() with a timeout or in recvfrom() with SO_RCVTIMEO
// waits for time, which passes by itself.
//
// Sources: /proc/PID/task/TID/stat (state, CPU time), .../syscall (the syscall number and
// its arguments while the task is inside one), .../status (context switches, pending and
// caught signals), /proc/PID/timers (POSIX timers), /proc/PID/fd (what an fd is); the socket
// itself through pidfd_getfd() for its SO_RCVTIMEO/SO_SNDTIMEO, and the pollfd array of a
// poll() through process_vm_readv(). Reading them needs the right to ptrace the process
// (root, or an ancestor of it); where it is missing, a wait counts as unknown.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sockspec {

enum class WaitKind {
  kRunning,    // on a CPU or runnable
  kForOthers,  // asleep until another process acts (data, a connection, a child's end)
  kForTime,    // asleep, but a timeout or a timer will wake it
  kUnknown,    // asleep in something this module cannot judge
};

struct TaskSample {
  pid_t pid = 0;
  pid_t tid = 0;
  std::string comm;
  char state = '?';  // R, S, D, T, t, Z; '?' when the task is gone
  std::optional<long> syscall;
  std::array<std::uint64_t, 6> args{};
  bool syscall_unknown = false;  // this kernel's /proc has no TID/syscall file
  std::uint64_t activity = 0;    // CPU ticks plus context switches: changes whenever it runs
};

struct TaskWait {
  WaitKind kind = WaitKind::kUnknown;
  std::string what;  // "recvfrom on fd 3, a socket with no SO_RCVTIMEO"
};

// Every task (thread) of process `pid`; empty when it is gone.
std::vector<TaskSample> sample_tasks(pid_t pid);

// What the sampled task waits for. `harness_fd_floor`: fds at or above it belong to the
// harness's channels, whose waits are bounded by the case's deadline only (a wait that ends
// in the case's failure is no timeout that lets it go on).
TaskWait judge_wait(const TaskSample& task, int harness_fd_floor);

// Whether a timer may wake `task` of process `pid`: it has a POSIX timer, or an alarm's
// SIGALRM would end its call. An alarm() or setitimer() is invisible in /proc, so a process
// that prepared for SIGALRM is taken to have set one: SIGALRM caught and not blocked, or the
// task waiting for signals (sigsuspend, sigtimedwait, pause). A process that blocks SIGALRM
// while it waits for something else (strace does) cannot be woken by one.
bool may_have_timer(pid_t pid, const TaskSample& task);

}  // namespace sockspec
