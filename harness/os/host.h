// What this machine offers the project, each fact computed in one place: the tools the
// harness and the runner start (strace, bindfs, User-mode Linux, the targets' programs), the
// one strace command line, and the features a case may require. `sockspec features` prints
// the features; cases/lit.cfg.py reads that, the interpreter checks a script's REQUIRES with
// why_missing(), and the suite's cases skip with the same reasons, so none can disagree.
#pragma once

#include <sys/types.h>

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

// Why User-mode Linux cannot run a process on this host, from a guest's console output, or
// "" when the output does not show the known failure (see ../shared/research: on hosts with
// AMX, UML <= 6.12 kills its first process with SIGSEGV: "Attempted to kill init!
// exitcode=0x0000000b").
std::string uml_cannot_run_reason(const std::string& console);

}  // namespace sockspec
