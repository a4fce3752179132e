#include "runner/engine/hang_watch.h"

#include <fmt/format.h>

#include "os/channel.h"
#include "os/waits.h"

namespace sockspec {

std::optional<std::string> HangWatch::look(const std::vector<pid_t>& processes,
                                           Clock::time_point now) {
  auto not_hung = [&] {
    hung_since_.reset();
    return std::nullopt;
  };
  std::vector<std::pair<pid_t, std::vector<TaskSample>>> sampled;
  for (pid_t pid : processes) {
    std::vector<TaskSample> tasks = sample_tasks(pid);
    for (const auto& t : tasks)
      if (t.state == 'R') return not_hung();  // the common case, found cheaply
    if (!tasks.empty()) sampled.emplace_back(pid, std::move(tasks));
  }
  if (sampled.empty()) return not_hung();

  std::string report;
  Signature signature;
  for (const auto& [pid, tasks] : sampled) {
    for (const auto& t : tasks) {
      const TaskWait wait = judge_wait(t, Channel::kChannelFdFloor);
      if (wait.kind != WaitKind::kForOthers || may_have_timer(pid, t)) return not_hung();
      const std::string who = t.tid == t.pid ? fmt::format("pid {}", t.pid)
                                             : fmt::format("pid {} thread {}", t.pid, t.tid);
      report +=
          fmt::format("  {} ({}): blocked in {} (state {})\n", who, t.comm, wait.what, t.state);
      signature[t.tid] = {t.syscall.value_or(-1), t.args[0] ^ (t.args[1] << 1), t.activity};
    }
  }
  if (!hung_since_ || signature != signature_) {
    hung_since_ = now;
    signature_ = std::move(signature);
    return std::nullopt;
  }
  if (now - *hung_since_ < grace_) return std::nullopt;
  return report;
}

}  // namespace sockspec
