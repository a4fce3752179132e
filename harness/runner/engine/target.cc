#include "runner/engine/target.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "runner/runner_error.h"

extern char** environ;

namespace sockspec {

namespace {

const char* const kSuppressions = SOCKSPEC_SOURCE_DIR "/ci/valgrind.supp";

// Programs built beside sockspec.
std::string beside_sockspec(const char* name) {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / name).string();
}

std::vector<Target> make_targets() {
  const std::string musl_actor = beside_sockspec("sockspec-actor-musl");
  const std::string no_strace = "strace cannot trace under proot: proot is the case's tracer";
  std::vector<Target> targets(8);
  {
    Target& t = targets[0];
    t.name = "native";
    t.description = "the host kernel and its libc";
  }
  {
    Target& t = targets[1];
    t.name = "gvisor";
    t.description =
        "gVisor: runsc do, ptrace platform, no network; the Sentry "
        "re-implements the syscalls";
    t.program = "/usr/bin/runsc";
    t.package = "runsc";
    t.trace = TracePlacement::kInside;
  }
  {
    Target& t = targets[2];
    t.name = "qemu";
    t.description =
        "qemu-user: qemu-x86_64 translates each syscall of an emulated "
        "process; deadlines x2";
    t.program = "/usr/bin/qemu-x86_64";
    t.package = "qemu-user";
    t.deadline_scale = 2;
  }
  {
    Target& t = targets[3];
    t.name = "proot";
    t.description =
        "proot with no bindings: ptrace rewrites the paths of syscalls "
        "(identity here)";
    t.program = "/usr/bin/proot";
    t.package = "proot";
    t.trace = TracePlacement::kNone;
    t.no_trace_reason = no_strace;
  }
  {
    Target& t = targets[4];
    t.name = "proot-bind";
    t.description =
        "proot -b RUN:/sockspec: every case dir and sun_path is "
        "rewritten between guest and host";
    t.program = "/usr/bin/proot";
    t.package = "proot";
    t.trace = TracePlacement::kNone;
    t.no_trace_reason = no_strace;
    t.guest_run_dir = "/sockspec";
  }
  {
    Target& t = targets[5];
    t.name = "valgrind";
    t.description = "valgrind memcheck (suppressions: ci/valgrind.supp); deadlines x4";
    t.program = "/usr/bin/valgrind";
    t.package = "valgrind";
    t.deadline_scale = 4;
  }
  {
    Target& t = targets[6];
    t.name = "musl";
    t.description =
        "scripted cases whose actors are sockspec-actor-musl: C, static "
        "musl (GoogleTest cases link glibc and do not run)";
    t.program = musl_actor;
    t.package = "musl-tools";
    t.actor_program = musl_actor;
  }
  {
    Target& t = targets[7];
    t.name = "uml";
    t.description =
        "User-mode Linux 6.1 (a second kernel as a process) with a "
        "hostfs root";
    t.program = "/usr/bin/linux";
    t.package = "user-mode-linux";
    t.trace = TracePlacement::kInside;
  }
  return targets;
}

struct Captured {
  bool finished = false;  // exited (any status) within the time
  int status = 0;
  std::string output;  // stdout and stderr together
};

// Runs argv with stdout and stderr captured, for at most `limit`; killed after that.
Captured capture(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw RunnerError("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(pipe_fds[1]);
  Captured result;
  if (rc != 0) {
    ::close(pipe_fds[0]);
    result.output = fmt::format("cannot start {}: {}", argv[0], std::strerror(rc));
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) break;
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    if (result.output.size() < 65536) result.output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  // Whatever is left of the program (runsc's sandbox, UML's threads) goes with its group.
  ::kill(-pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.finished = std::chrono::steady_clock::now() < deadline;
  result.status = status;
  return result;
}

std::string first_line(const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
  return "";
}

std::string last_line(const std::string& text, std::string_view containing) {
  std::istringstream lines(text);
  std::string found;
  for (std::string line; std::getline(lines, line);)
    if (line.find(containing) != std::string::npos) found = line;
  return found;
}

std::string version_of(const Target& target) {
  if (target.name == "native") return "";
  std::vector<std::string> argv{target.program, "--version"};
  const Captured c = capture(argv, std::chrono::seconds(10));
  // proot's banner ends its first lines with the version.
  if (target.name.starts_with("proot")) {
    const auto v = c.output.find("5.");
    return v == std::string::npos ? "proot" : "proot " + first_line(c.output.substr(v));
  }
  if (target.name == "uml") return "User-mode Linux " + first_line(c.output);
  if (target.name == "musl") {
    const Captured v = capture({"/usr/bin/dpkg-query", "-W", "-f=musl ${Version}", "musl"},
                               std::chrono::seconds(10));
    return v.finished && WIFEXITED(v.status) && WEXITSTATUS(v.status) == 0 ? v.output : "musl";
  }
  return first_line(c.output);
}

// User-mode Linux boots with /bin/true as its init: a guest that can run a process panics
// with exitcode=0x00000000 when its init exits; one that cannot reports the signal.
TargetState check_user_mode_linux(const Target& target) {
  char dir[] = "/tmp/sockspec-uml-check.XXXXXX";
  if (!::mkdtemp(dir)) throw RunnerError("cannot make a temp dir for the UML check");
  const Captured c = capture(
      {target.program, "mem=64M", "root=/dev/root", "rootfstype=hostfs", "rootflags=/", "rw",
       "init=/bin/true", "con=null", "con0=null,fd:1", std::string("uml_dir=") + dir, "umid=check"},
      std::chrono::seconds(20));
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  const std::string panic = last_line(c.output, "Attempted to kill init!");
  TargetState state;
  state.kind = TargetState::Kind::kNotUsable;
  if (panic.find("exitcode=0x00000000") != std::string::npos)
    state.why =
        "User-mode Linux boots here, but sockspec cannot run cases inside it yet; the uml "
        "target is used by the no-remote-reach cases of every run";
  else if (!panic.empty())
    state.why = fmt::format(
        "User-mode Linux cannot run a process on this host: its init (/bin/true) died "
        "(\"{}\"; exitcode 0xb is SIGSEGV)",
        panic.substr(panic.find("Attempted")));
  else
    state.why = "User-mode Linux did not boot: " + first_line(c.output);
  return state;
}

}  // namespace

const std::vector<Target>& all_targets() {
  static const std::vector<Target> targets = make_targets();
  return targets;
}

const Target& find_target(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& t : all_targets()) {
    if (t.name == name) return t;
    names.push_back(t.name);
  }
  throw RunnerError(
      fmt::format("--target {} is not a target; the targets are {} (see `sockspec "
                  "targets`)",
                  name, fmt::join(names, ", ")));
}

std::vector<std::string> wrap_command(const Target& target, const std::vector<std::string>& command,
                                      const std::filesystem::path& run_dir,
                                      const std::filesystem::path& work_dir) {
  std::vector<std::string> argv;
  if (target.name == "gvisor") {
    // --force-overlay=false: the case writes its result and trace files to the host, and
    // its case dir is a real host dir (the default would be a tmpfs overlay in the sandbox).
    argv = {target.program, "--network=none", "--platform=ptrace", "do", "--force-overlay=false",
            "--quiet",      "--cwd",          work_dir.string()};
  } else if (target.name == "qemu") {
    argv = {target.program};
  } else if (target.name == "proot") {
    argv = {target.program, "-w", work_dir.string()};
  } else if (target.name == "proot-bind") {
    argv = {target.program, "-b", run_dir.string() + ":" + target.guest_run_dir, "-w",
            guest_view(target, work_dir.string(), run_dir)};
  } else if (target.name == "valgrind") {
    // Peers are forked, so memcheck follows them; programs a case execs (strace, bindfs,
    // UML) run natively. A memcheck error ends the process with status 97.
    argv = {target.program,
            "--quiet",
            "--tool=memcheck",
            "--error-exitcode=97",
            "--trace-children=no",
            "--child-silent-after-fork=no",
            "--suppressions=" + std::string(kSuppressions)};
  } else if (target.name != "native" && target.name != "musl") {
    throw RunnerError(fmt::format("the {} target cannot run cases", target.name));
  }
  for (const auto& word : command) argv.push_back(guest_view(target, word, run_dir));
  return argv;
}

std::string guest_view(const Target& target, const std::string& text,
                       const std::filesystem::path& run_dir) {
  if (target.guest_run_dir.empty()) return text;
  const std::string host = run_dir.string();
  std::string out = text;
  for (auto at = out.find(host); at != std::string::npos;
       at = out.find(host, at + target.guest_run_dir.size()))
    out.replace(at, host.size(), target.guest_run_dir);
  return out;
}

TargetState check_target(const Target& target) {
  TargetState state;
  if (target.name == "native") return state;
  if (::access(target.program.c_str(), X_OK) != 0) {
    state.kind = TargetState::Kind::kNotInstalled;
    state.why = fmt::format(
        "{} is missing; install it with `apt-get install -y {}` (or "
        "`ci/bootstrap --targets`)",
        target.program, target.package);
    if (target.name == "musl")
      state.why = fmt::format(
          "{} is missing; it is built when musl-gcc is installed: "
          "`apt-get install -y musl-tools`, then `ci/bootstrap --targets`",
          target.program);
    return state;
  }
  if (target.name == "musl") {
    state.version = version_of(target);
    return state;
  }
  if (target.name == "uml") return check_user_mode_linux(target);
  if (target.name == "gvisor" && ::geteuid() != 0) {
    state.kind = TargetState::Kind::kNotUsable;
    state.why = "runsc do needs root here (it makes the sandbox's namespaces and cgroups)";
    return state;
  }
  const auto cwd = std::filesystem::temp_directory_path();
  const Captured c =
      capture(wrap_command(target, {"/bin/true"}, cwd, cwd), std::chrono::seconds(20));
  if (!c.finished || !WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0) {
    state.kind = TargetState::Kind::kNotUsable;
    state.why = fmt::format("{} cannot run /bin/true here: {}", target.program,
                            c.finished ? first_line(c.output) : "it did not finish in 20 s");
    return state;
  }
  state.version = version_of(target);
  return state;
}

std::string describe(const TargetState& state) {
  switch (state.kind) {
    case TargetState::Kind::kAvailable:
      return state.version.empty() ? "available" : "available: " + state.version;
    case TargetState::Kind::kNotInstalled:
      return "not installed: " + state.why;
    case TargetState::Kind::kNotUsable:
      return "not usable here: " + state.why;
  }
  return "?";
}

}  // namespace sockspec
