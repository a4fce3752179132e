#include "os/proc.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "os/files.h"
#include "os/names.h"

namespace sockspec {

namespace {

// /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses,
// so the fields after it are found from the last ')'.
struct StatLine {
  std::string comm;
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
};

std::optional<StatLine> read_stat(pid_t pid) {
  const std::string text = read_file(fmt::format("/proc/{}/stat", pid));
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return std::nullopt;
  StatLine line;
  line.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 1));
  rest >> line.state >> line.ppid >> line.pgrp;
  return line;
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (!dir) return pids;
  while (const dirent* entry = ::readdir(dir)) {
    pid_t pid = 0;
    const char* name = entry->d_name;
    const auto [end, ec] = std::from_chars(name, name + std::char_traits<char>::length(name), pid);
    if (ec == std::errc() && *end == '\0') pids.push_back(pid);
  }
  ::closedir(dir);
  return pids;
}

}  // namespace

std::string ProcessState::describe() const {
  if (gone()) return "gone";
  if (state == 'Z') return "exited, not yet reaped (state Z)";
  if (syscall) return fmt::format("blocked in {} (state {})", syscall_name(*syscall), state);
  if (syscall_unknown && (state == 'S' || state == 'D'))
    return fmt::format("asleep in a syscall /proc does not name (state {})", state);
  return fmt::format("running (state {})", state);
}

ProcessState read_process_state(pid_t pid) {
  ProcessState result;
  const auto stat = read_stat(pid);
  if (!stat) return result;
  result.state = stat->state;
  result.comm = stat->comm;
  // "running" while on a CPU, "-1 ..." when stopped outside a syscall, else "NR args...".
  const std::string syscall_file = fmt::format("/proc/{}/syscall", pid);
  const std::string syscall = read_file(syscall_file);
  result.syscall_unknown = syscall.empty() && ::access(syscall_file.c_str(), F_OK) != 0 &&
                           ::access(fmt::format("/proc/{}/stat", pid).c_str(), F_OK) == 0;
  long nr = -1;
  std::istringstream(syscall) >> nr;
  if (nr >= 0 && syscall.rfind("running", 0) != 0) result.syscall = nr;
  return result;
}

std::vector<pid_t> processes_in_group(pid_t pgid) {
  std::vector<pid_t> members;
  for (pid_t pid : all_pids())
    if (auto stat = read_stat(pid); stat && stat->pgrp == pgid) members.push_back(pid);
  return members;
}

pid_t process_group_of(pid_t pid) {
  const auto stat = read_stat(pid);
  return stat ? stat->pgrp : 0;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  // /proc/PID/task/TID/children lists each thread's children directly (proc(5), needs
  // CONFIG_PROC_CHILDREN); without it, every process's parent is read from its stat.
  bool listed = false;
  if (DIR* tasks = ::opendir(fmt::format("/proc/{}/task", parent).c_str())) {
    while (const dirent* task = ::readdir(tasks)) {
      if (task->d_name[0] == '.') continue;
      std::ifstream list(fmt::format("/proc/{}/task/{}/children", parent, task->d_name));
      if (!list) continue;
      listed = true;
      for (pid_t child; list >> child;) children.push_back(child);
    }
    ::closedir(tasks);
  }
  if (listed) return children;
  for (pid_t pid : all_pids())
    if (auto stat = read_stat(pid); stat && stat->ppid == parent) children.push_back(pid);
  return children;
}

std::vector<pid_t> descendants_of(pid_t root) {
  std::vector<pid_t> found = children_of(root);
  for (std::size_t i = 0; i < found.size(); ++i)
    for (pid_t child : children_of(found[i])) found.push_back(child);
  return found;
}

bool kill_descendants(pid_t root, std::chrono::steady_clock::time_point until) {
  const bool ours = root == ::getpid();
  for (;;) {
    const std::vector<pid_t> below = descendants_of(root);
    if (below.empty()) return true;
    for (pid_t pid : below) ::kill(pid, SIGKILL);
    if (ours)
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
    if (std::chrono::steady_clock::now() >= until) return descendants_of(root).empty();
    const timespec pause{0, 2'000'000};
    ::nanosleep(&pause, nullptr);
  }
}

bool signal_pending(pid_t pid, int sig) {
  std::istringstream status(read_file(fmt::format("/proc/{}/status", pid)));
  const unsigned long long bit = 1ULL << (sig - 1);
  for (std::string line; std::getline(status, line);)
    if (line.rfind("SigPnd:", 0) == 0 || line.rfind("ShdPnd:", 0) == 0)
      if (std::stoull(line.substr(7), nullptr, 16) & bit) return true;
  return false;
}

int zombie_exit_code(pid_t pid) {
  const std::string text = read_file(fmt::format("/proc/{}/stat", pid));
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  std::vector<std::string> fields;
  while (rest >> field) fields.push_back(field);
  // fields[0] is field 3 (state); field 52 is fields[49].
  if (fields.empty() || fields[0] != "Z" || fields.size() < 50) return -1;
  return std::stoi(fields[49]);
}

pid_t tracer_of(pid_t pid) {
  std::istringstream status(read_file(fmt::format("/proc/{}/status", pid)));
  for (std::string line; std::getline(status, line);)
    if (line.rfind("TracerPid:", 0) == 0) return std::stoi(line.substr(10));
  return 0;
}

ForeignTracer foreign_tracer() {
  const pid_t tracer = tracer_of(::getpid());
  if (tracer <= 0) return {};
  std::string name = read_file(fmt::format("/proc/{}/comm", tracer));
  if (!name.empty() && name.back() == '\n') name.pop_back();
  if (name == "strace") return {};
  return {tracer, name.empty() ? "another process" : name};
}

}  // namespace sockspec
