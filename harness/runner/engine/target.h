// Targets: the implementations of AF_UNIX a run can check. The cases are the same on every
// target; what changes is what sits between a case's process and the host kernel:
//
//   native     nothing: the host kernel and its libc
//   gvisor     gVisor's Sentry, an independent re-implementation of the Linux syscalls
//   qemu       qemu-user, which translates every syscall of an emulated x86-64 process
//   proot      proot, which rewrites paths of syscalls by ptrace (here with no bindings)
//   proot-bind proot with the run's folder bound elsewhere, so every sun_path is rewritten
//   valgrind   memcheck, which runs the case on a synthetic CPU and checks its memory use
//   musl       the scripted cases, with actors that are a C program linked with musl
//   uml        User-mode Linux, a second Linux kernel running as a process
//
// A target is one value in one table (target.cc): what it wraps a command with, how it checks
// itself, where strace goes. Nothing outside the table asks a target for its name to decide
// what to do.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec {

enum class TracePlacement {
  kOutside,  // strace ... WRAPPER case: the host syscalls the case causes
  kInside,   // WRAPPER strace ... case: the target's own ptrace, its view of the syscalls
  kNone,     // strace cannot run there; the reason is in Target::no_trace_reason
};

struct TargetState {
  enum class Kind { kAvailable, kNotInstalled, kNotUsable } kind = Kind::kAvailable;
  std::string version;  // when available: what runs the cases ("runsc version 0.0~20221219.0")
  std::string why;      // otherwise: the install line, or why it cannot run here
  std::string note;     // a fact of this host the target depends on, whatever its state
  std::string kernel;   // the kernel the cases meet, when it is not the host's (a guest's)
};
std::string describe(const TargetState& state);  // "available: ...", "not installed: ..."

// Where a wrapped command runs: the runner's folder of case dirs (a target that rebinds it
// sees it elsewhere) and the dir to start in.
struct WrapPlace {
  std::filesystem::path run_dir;
  std::filesystem::path work_dir;
};

struct Target {
  std::string name;
  std::string description;
  std::string program;  // the binary the target needs ("" for native)
  std::string package;  // the Debian package that installs it
  TracePlacement trace = TracePlacement::kOutside;
  std::string no_trace_reason;
  // Where the run's folder appears inside the target, when it is rebound ("" when not).
  std::string guest_run_dir;
  // The case's processes are host processes, which the runner can watch in /proc for a hang
  // (false in gVisor, whose processes live in the sandbox's own process table).
  bool host_pids = true;
  // Only the cases whose calls an actor makes run here: the scripted cases and the Model/
  // properties (the other GoogleTest cases link glibc and call it themselves).
  bool scripted_cases_only = false;
  // Each worker runs a case server inside one wrapper, which forks every case. False where
  // the wrapper keeps state of its own that would leak from one case into the next, so that
  // each case is exec'd under a wrapper of its own (proot: see target.cc).
  bool case_server = true;
  // The program the actors of scripted cases run as ("" for the default, sockspec-actor).
  std::string actor_program;
  // Each case's deadline is this many times --timeout.
  int deadline_scale = 1;
  // A line the wrapped case server's side writes when it can take requests, before which
  // nothing is sent to it ("" when it can take them at once): a guest kernel's console loses
  // what arrives while it boots.
  std::string server_greeting;
  // A program a case process execs runs outside the wrapper (qemu-user and memcheck do not
  // follow execve): the actors of scripted cases are wrapped again.
  bool exec_escapes = false;

  // The command line that runs `command` (a case server, or a case process under strace).
  std::function<std::vector<std::string>(const Target&, const std::vector<std::string>& command,
                                         const WrapPlace& place)>
      wrap;
  // Checks that the target can run a case here: installed, and a trivial program runs.
  std::function<TargetState(const Target&)> check;
  // The libc the cases' calls go through, given what check() found.
  std::function<std::string(const TargetState&)> libc;
  // Removes what the wrapper process `pid` left outside the run dir once it has ended (empty:
  // it leaves nothing there).
  std::function<void(pid_t pid)> clean_up_after;

  // `text` with the host path of the run's folder replaced by where the target sees it.
  std::string guest_view(const std::string& text, const std::filesystem::path& run_dir) const;
};

// Every target, native first.
const std::vector<Target>& all_targets();
const Target& native_target();
// The target called `name`; RunnerError naming the known ones otherwise.
const Target& find_target(std::string_view name);

}  // namespace sockspec
