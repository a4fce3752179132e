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
// A target wraps the command line of a case process; the runner puts strace either around
// the wrapper (it sees the syscalls the wrapper makes on the case's behalf) or inside it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec {

enum class TracePlacement {
  kOutside,  // strace ... WRAPPER case: the host syscalls the case causes
  kInside,   // WRAPPER strace ... case: the target's own ptrace, its view of the syscalls
  kNone,     // strace cannot run there; the reason is in Target::no_trace_reason
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
  // The program the actors of scripted cases run as (musl: sockspec-actor-musl). Only the
  // scripted cases run on such a target: the GoogleTest cases are C++ and link glibc.
  std::string actor_program;
  bool scripted_cases_only() const { return !actor_program.empty(); }
  // Each case's deadline is this many times --timeout: memcheck runs code tens of times
  // slower, and a property case that takes 3 s natively takes 12-15 s under it.
  int deadline_scale = 1;
};

// Every target, native first.
const std::vector<Target>& all_targets();
// The target called `name`; RunnerError naming the known ones otherwise.
const Target& find_target(std::string_view name);

struct TargetState {
  enum class Kind { kAvailable, kNotInstalled, kNotUsable } kind = Kind::kAvailable;
  std::string version;  // when available: what runs the cases ("runsc version 0.0~20221219.0")
  std::string why;      // otherwise: the install line, or why it cannot run here
};
// Checks the target by running a trivial program on it (a few hundred ms at most).
TargetState check_target(const Target& target);
std::string describe(const TargetState& state);  // "available (...)", "not installed: ..."

// The command line that runs `command` (a case process, maybe under strace) on the target.
// `run_dir` is the runner's folder of case dirs; a target that rebinds it gets paths under
// it rewritten to the guest's view by guest_view().
std::vector<std::string> wrap_command(const Target& target, const std::vector<std::string>& command,
                                      const std::filesystem::path& run_dir,
                                      const std::filesystem::path& work_dir);
// `text` with the host path of the run's folder replaced by where the target sees it.
std::string guest_view(const Target& target, const std::string& text,
                       const std::filesystem::path& run_dir);

}  // namespace sockspec
