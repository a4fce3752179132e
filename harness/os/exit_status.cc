#include "os/exit_status.h"

#include <sys/wait.h>

#include <fmt/format.h>

#include "os/names.h"

namespace sockspec {

ExitStatus ExitStatus::from_wait_status(int status) {
  if (WIFEXITED(status)) return exited_with(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return killed_by(WTERMSIG(status));
  return killed_by(0);  // stopped or continued: not an end, and never asked for
}

ExitStatus ExitStatus::from_siginfo(const siginfo_t& info) {
  if (info.si_code == CLD_EXITED) return exited_with(info.si_status);
  return killed_by(info.si_status);
}

std::string ExitStatus::describe() const {
  if (exited) return fmt::format("exited with status {}", code);
  return fmt::format("was killed by {}", signal_name(signal));
}

}  // namespace sockspec
