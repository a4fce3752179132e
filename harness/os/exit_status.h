// How a process ended, in one type for every process the project starts or forks: a case
// process, a case server, a peer, an actor, a helper program (strace, bindfs, User-mode Linux).
#pragma once

#include <signal.h>

#include <string>

namespace sockspec {

struct ExitStatus {
  bool exited = false;  // false: killed by `signal`
  int code = 0;         // the exit status, when exited
  int signal = 0;       // the signal that killed it, when not exited

  static ExitStatus exited_with(int code) { return {true, code, 0}; }
  static ExitStatus killed_by(int sig) { return {false, 0, sig}; }
  // From waitpid()'s status word, or from waitid()'s siginfo.
  static ExitStatus from_wait_status(int status);
  static ExitStatus from_siginfo(const siginfo_t& info);

  bool success() const { return exited && code == 0; }
  // "exited with status 0", "was killed by SIGPIPE"
  std::string describe() const;
};

}  // namespace sockspec
