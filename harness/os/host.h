// What this machine offers the project, each fact computed in one place: the tools the
// harness and the runner start (strace, bindfs, User-mode Linux, the targets' programs), the
// one strace command line, and the features a case may require. `sockspec features` prints
// the features; cases/lit.cfg.py reads that, the interpreter checks a script's REQUIRES with
// why_missing(), and the suite's cases skip with the same reasons, so none can disagree.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec {

struct Tool {
  std::string_view name;
  std::string_view path;
  std::string_view package;  // the Debian package that installs it

  bool installed() const;
  // "strace is not installed (apt-get install -y strace)"
  std::string not_installed() const;
};

inline constexpr Tool kStrace{"strace", "/usr/bin/strace", "strace"};
inline constexpr Tool kBindfs{"bindfs", "/usr/bin/bindfs", "bindfs"};
inline constexpr Tool kUserModeLinux{"User-mode Linux", "/usr/bin/linux", "user-mode-linux"};

// strace's command line, the same for the runner's traces and a case's injected faults:
// -f every process; -tt -T times; -yy fds with what they are (socket:[inode] and address);
// -X verbose constants as number and name; -s 256 enough of each buffer to read the data.
struct StraceOptions {
  std::string output;               // -o FILE
  std::vector<std::string> inject;  // -e inject=...
  pid_t attach = 0;                 // -p PID (0: run the command that follows)
  bool quiet = false;               // --quiet=all: no "attached" chatter
};
std::vector<std::string> strace_command(const StraceOptions& options);

// A feature: present (why_not empty), or absent with the reason a case needing it is skipped.
struct Feature {
  std::string name;  // "root", "linux-6.18", "target=native"
  std::string why_not;
  bool present() const { return why_not.empty(); }
};

// Every feature of this machine (User-mode Linux is booted once to see whether it can run a
// process: about a second).
std::vector<Feature> host_features();

// Why `feature` is missing here ("" when it is present), computing only that feature.
// A name sockspec does not know is missing too, with a reason that says so.
std::string why_missing(std::string_view feature);

// User-mode Linux up to 6.12 keeps each guest process's FPU state in a buffer of 2696 bytes
// (x87, SSE, AVX, AVX-512, PKRU) and moves it with PTRACE_SETREGSET(NT_X86_XSTATE), which the
// host (Linux >= 5.16) refuses with EFAULT unless the buffer is its whole XSAVE area: 11008
// bytes on a CPU with AMX. UML then kills its first process ("Attempted to kill init!
// exitcode=0x0000000b"). Linux 6.13 sizes the buffer from the host (3f17fed21491). On such a
// host UML runs under libsockspec-uml-xstate.so (harness/uml/xstate_shim.c), which hands the
// host a whole area.
inline constexpr std::size_t kUmlXstateBytes = 2696;
inline constexpr const char* kUmlXstateShim = "libsockspec-uml-xstate.so";

// The size of this host's XSAVE area for the components its kernel enabled (CPUID leaf 0xD),
// 0 on a CPU without XSAVE or not x86.
std::size_t host_xsave_bytes();

// What User-mode Linux needs in its environment on this host ("NAME=value" each): the shim
// preloaded when the host's XSAVE area is larger than UML's buffer and the shim is beside
// this program; nothing otherwise.
std::vector<std::string> uml_environment();

// One line on UML and this host's XSAVE area, for `sockspec targets`: whether UML's FPU
// buffer fits, and if not, what stands in for the upstream fix.
std::string uml_xsave_note();

// Whether this process runs in a User-mode Linux guest (the uml target), where booting UML
// again is not tried: its /proc/cpuinfo says "vendor_id : User Mode Linux".
bool inside_user_mode_linux();

// Why User-mode Linux cannot run a process on this host, from a guest's console output, or
// "" when the output does not show its first process killed ("Attempted to kill init!
// exitcode=0x0000000b"). The reason is told from the host's XSAVE area, not the text alone.
std::string uml_cannot_run_reason(const std::string& console);

}  // namespace sockspec
