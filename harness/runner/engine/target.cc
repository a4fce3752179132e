#include "runner/engine/target.h"

#include <gnu/libc-version.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "os/cleanup.h"
#include "os/host.h"
#include "os/spawn.h"
#include "runner/runner_error.h"

namespace sockspec {

namespace {

using Command = std::vector<std::string>;

const char* const kSuppressions = SOCKSPEC_SOURCE_DIR "/ci/valgrind.supp";

// Programs built beside sockspec.
std::string beside_sockspec(const char* name) {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / name).string();
}

std::string first_line(const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
  return "";
}

// `prefix`, then `command` with the run's folder as the target sees it.
Command wrapped(const Target& t, Command prefix, const Command& command, const WrapPlace& place) {
  for (const auto& word : command) prefix.push_back(t.guest_view(word, place.run_dir));
  return prefix;
}

Command unwrapped(const Target& t, const Command& command, const WrapPlace& place) {
  return wrapped(t, {}, command, place);
}

// What `PROGRAM --version` prints first, or the whole first line of it.
std::string version_line(const Target& t) {
  return first_line(run_captured({t.program, "--version"}, std::chrono::seconds(10)).output);
}

// The guest's first process (harness/uml/guest_init.cc), built beside the runner.
std::filesystem::path uml_guest_init() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "sockspec-uml-init";
}

// User-mode Linux boots a guest kernel whose root is the host's "/" (hostfs), so the
// command, the case program and the run's folder are where they are on the host; the guest
// runs `command` from its first process, sockspec-uml-init (harness/uml/guest_init.cc),
// which talks to the runner over the guest's second console, attached to UML's stdin and
// stdout. Its files (uml_dir) go beside the worker's dir, which the cases empty. On a host
// whose XSAVE area UML cannot hold, UML runs under the xstate shim (os/host.h).
Command uml_command(const Target& t, const Command& command, const WrapPlace& place) {
  std::string hex;
  for (const auto& word : command) {
    for (const unsigned char c : word) hex += fmt::format("{:02x}", c);
    hex += "00";
  }
  Command argv;
  if (const auto env = uml_environment(); !env.empty()) {
    argv.push_back("/usr/bin/env");
    argv.insert(argv.end(), env.begin(), env.end());
  }
  const auto uml_dir = place.run_dir / ("uml-" + place.work_dir.filename().string());
  std::filesystem::create_directories(uml_dir);
  const Command words = {
      t.program,
      "mem=512M",
      "root=/dev/root",
      "rootfstype=hostfs",
      "rootflags=/",
      "rw",
      "init=" + uml_guest_init().string(),
      "con=null",
      "con0=null,fd:2",
      "con1=fd:0,fd:1",
      "pty.legacy_count=0",  // legacy PTYs take 1-4 s of each boot
      "quiet",
      "uml_dir=" + uml_dir.string(),
      "umid=guest",
      // Words with '=' the kernel does not know become the init's environment.
      "SOCKSPEC_UML_COMMAND=" + hex,
      "SOCKSPEC_UML_CWD=" + place.work_dir.string(),
      "TMPDIR=" + place.run_dir.string(),
      "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
  };
  argv.insert(argv.end(), words.begin(), words.end());
  return argv;
}

// proot keeps state of its own for the life of the proot process, so each case gets a proot of
// its own, started in the case's dir (Target::case_server = false):
//   - it emulates chdir() and translates the addresses of bind() and connect() against the
//     emulated directory, but not sendto()'s, which the kernel resolves against the
//     directory proot started in (ci/FINDINGS.md);
//   - a socket path that no longer fits sun_path once made absolute is bound at a stand-in,
//     remembered by the proot process: a later bind() of the same path by another process
//     would find it taken.
Command proot_command(const Target& t, const Command& options) {
  Command argv = {t.program};
  argv.insert(argv.end(), options.begin(), options.end());
  return argv;
}

// proot 5.1 keeps its temp files in /tmp whatever TMPDIR says, named after its pid: the
// stand-ins of socket paths too long to bind (never removed: ci/FINDINGS.md) and its work
// dir (removed unless proot is killed).
void remove_proot_leftovers(pid_t proot) {
  const std::string stand_in = fmt::format("proot-{}-", proot);
  const std::string work_dir = fmt::format("prooted-{}-", proot);
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ignored)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(stand_in) || name.starts_with(work_dir)) remove_tree(entry.path());
  }
}

std::string host_libc(const TargetState&) {
  return fmt::format("glibc {}", gnu_get_libc_version());
}

// Installed, and /bin/true runs under the wrapper within 20 s.
TargetState check_by_running_true(const Target& t,
                                  const std::function<std::string(const Target&)>& version) {
  TargetState state;
  if (::access(t.program.c_str(), X_OK) != 0) {
    state.kind = TargetState::Kind::kNotInstalled;
    state.why = fmt::format(
        "{} is missing; install it with `apt-get install -y {}` (or "
        "`ci/bootstrap --targets`)",
        t.program, t.package);
    return state;
  }
  const auto cwd = std::filesystem::temp_directory_path();
  const Captured c = run_captured(t.wrap(t, {"/bin/true"}, {cwd, cwd}), std::chrono::seconds(20));
  if (!c.status || !c.status->success()) {
    state.kind = TargetState::Kind::kNotUsable;
    state.why = fmt::format("{} cannot run /bin/true here: {}", t.program,
                            c.status ? first_line(c.output) : "it did not finish in 20 s");
    return state;
  }
  state.version = version(t);
  return state;
}

std::vector<Target> make_targets() {
  const std::string proot_no_trace = "strace cannot trace under proot: proot is the case's tracer";
  auto proot_version = [](const Target& t) {
    // proot's banner ends its first lines with the version.
    const std::string out = run_captured({t.program, "--version"}, std::chrono::seconds(10)).output;
    const auto v = out.find("5.");
    return v == std::string::npos ? std::string("proot") : "proot " + first_line(out.substr(v));
  };
  const std::string musl_actor = beside_sockspec("sockspec-actor-musl");
  return {
      {
          .name = "native",
          .description = "the host kernel and its libc",
          .wrap = unwrapped,
          .check = [](const Target&) { return TargetState{}; },
          .libc = host_libc,
      },
      {
          .name = "gvisor",
          .description = "gVisor: runsc do, ptrace platform, no network; the Sentry "
                         "re-implements the syscalls",
          .program = "/usr/bin/runsc",
          .package = "runsc",
          .trace = TracePlacement::kInside,
          .host_pids = false,
          // --force-overlay=false: the case writes its result and trace files to the host,
          // and its case dir is a real host dir (the default would be a tmpfs overlay).
          .wrap =
              [](const Target& t, const Command& command, const WrapPlace& place) {
                return wrapped(
                    t,
                    {t.program, "--network=none", "--platform=ptrace", "do",
                     "--force-overlay=false", "--quiet", "--cwd", place.work_dir.string()},
                    command, place);
              },
          .check =
              [](const Target& t) {
                if (::geteuid() == 0 || ::access(t.program.c_str(), X_OK) != 0)
                  return check_by_running_true(t, version_line);
                return TargetState{TargetState::Kind::kNotUsable, "",
                                   "runsc do needs root here (it makes the sandbox's "
                                   "namespaces and cgroups)"};
              },
          .libc = host_libc,
      },
      {
          .name = "qemu",
          .description = "qemu-user: qemu-x86_64 translates each syscall of an emulated "
                         "process; deadlines x2",
          .program = "/usr/bin/qemu-x86_64",
          .package = "qemu-user",
          .deadline_scale = 2,
          .exec_escapes = true,
          .wrap = [](const Target& t, const Command& command,
                     const WrapPlace& place) { return wrapped(t, {t.program}, command, place); },
          .check = [](const Target& t) { return check_by_running_true(t, version_line); },
          .libc = host_libc,
      },
      {
          .name = "proot",
          .description = "proot with no bindings: ptrace rewrites the paths of syscalls "
                         "(identity here); one proot per case",
          .program = "/usr/bin/proot",
          .package = "proot",
          .trace = TracePlacement::kNone,
          .no_trace_reason = proot_no_trace,
          .case_server = false,
          .wrap =
              [](const Target& t, const Command& command, const WrapPlace& place) {
                return wrapped(t, proot_command(t, {"-w", place.work_dir.string()}), command,
                               place);
              },
          .check =
              [proot_version](const Target& t) { return check_by_running_true(t, proot_version); },
          .libc = host_libc,
          .clean_up_after = remove_proot_leftovers,
      },
      {
          .name = "proot-bind",
          .description = "proot -b RUN:/sockspec: every case dir and sun_path is rewritten "
                         "between guest and host; one proot per case",
          .program = "/usr/bin/proot",
          .package = "proot",
          .trace = TracePlacement::kNone,
          .no_trace_reason = proot_no_trace,
          .guest_run_dir = "/sockspec",
          .case_server = false,
          .wrap =
              [](const Target& t, const Command& command, const WrapPlace& place) {
                return wrapped(
                    t,
                    proot_command(t, {"-b", place.run_dir.string() + ":" + t.guest_run_dir, "-w",
                                      t.guest_view(place.work_dir.string(), place.run_dir)}),
                    command, place);
              },
          .check =
              [proot_version](const Target& t) { return check_by_running_true(t, proot_version); },
          .libc = host_libc,
          .clean_up_after = remove_proot_leftovers,
      },
      {
          .name = "valgrind",
          .description = "valgrind memcheck (suppressions: ci/valgrind.supp); deadlines x8",
          .program = "/usr/bin/valgrind",
          .package = "valgrind",
          .deadline_scale = 8,
          .exec_escapes = true,
          // Forked processes stay under memcheck; programs a case execs (strace, bindfs,
          // UML) run natively. A memcheck error ends the process with status 97. --vgdb=no:
          // memcheck's gdbserver makes three FIFOs in /tmp per process, and a process killed
          // at a deadline or a failure never removes them.
          .wrap =
              [](const Target& t, const Command& command, const WrapPlace& place) {
                return wrapped(t,
                               {t.program, "--quiet", "--tool=memcheck", "--error-exitcode=97",
                                "--trace-children=no", "--child-silent-after-fork=no", "--vgdb=no",
                                "--suppressions=" + std::string(kSuppressions)},
                               command, place);
              },
          .check = [](const Target& t) { return check_by_running_true(t, version_line); },
          .libc = host_libc,
      },
      {
          .name = "musl",
          .description = "scripted cases and Model/ properties whose actors are "
                         "sockspec-actor-musl: C, static musl (the other GoogleTest cases "
                         "make their calls themselves, through glibc, and do not run)",
          .program = musl_actor,
          .package = "musl-tools",
          .scripted_cases_only = true,
          .actor_program = musl_actor,
          .wrap = unwrapped,
          .check =
              [](const Target& t) {
                TargetState state;
                if (::access(t.program.c_str(), X_OK) != 0) {
                  state.kind = TargetState::Kind::kNotInstalled;
                  state.why = fmt::format(
                      "{} is missing; it is built when musl-gcc is installed: "
                      "`apt-get install -y musl-tools`, then "
                      "`ci/bootstrap --targets`",
                      t.program);
                  return state;
                }
                const Captured v =
                    run_captured({"/usr/bin/dpkg-query", "-W", "-f=musl ${Version}", "musl"},
                                 std::chrono::seconds(10));
                state.version = v.status && v.status->success() ? v.output : "musl";
                return state;
              },
          .libc = [](const TargetState& state) { return state.version; },
      },
      {
          .name = "uml",
          .description = "User-mode Linux 6.1 (a second kernel as a process) with a hostfs "
                         "root; one guest per worker; deadlines x8",
          .program = std::string(kUserModeLinux.path),
          .package = std::string(kUserModeLinux.package),
          .trace = TracePlacement::kInside,
          .host_pids = false,
          .deadline_scale = 8,
          .server_greeting = "sockspec-uml: ready",
          .wrap = uml_command,
          .check =
              [](const Target&) {
                TargetState state;
                state.note = uml_xsave_note();
                if (!kUserModeLinux.installed()) {
                  state.kind = TargetState::Kind::kNotInstalled;
                  state.why = kUserModeLinux.not_installed();
                  return state;
                }
                const auto init = uml_guest_init();
                if (::access(init.c_str(), X_OK) != 0) {
                  state.kind = TargetState::Kind::kNotUsable;
                  state.why =
                      fmt::format("{} is missing: build it (cmake --build build)", init.string());
                  return state;
                }
                if (std::string why = why_missing("uml"); !why.empty()) {
                  state.kind = TargetState::Kind::kNotUsable;
                  state.why = std::move(why);
                  return state;
                }
                const Captured v = run_captured({std::string(kUserModeLinux.path), "--version"},
                                                std::chrono::seconds(10));
                state.kernel = first_line(v.output);
                state.version = "User-mode Linux " + state.kernel;
                return state;
              },
          .libc = host_libc,
      },
  };
}

}  // namespace

std::string Target::guest_view(const std::string& text,
                               const std::filesystem::path& run_dir) const {
  if (guest_run_dir.empty()) return text;
  const std::string host = run_dir.string();
  std::string out = text;
  for (auto at = out.find(host); at != std::string::npos;
       at = out.find(host, at + guest_run_dir.size()))
    out.replace(at, host.size(), guest_run_dir);
  return out;
}

const std::vector<Target>& all_targets() {
  static const std::vector<Target> targets = make_targets();
  return targets;
}

const Target& native_target() {
  return all_targets().front();
}

const Target& find_target(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& t : all_targets()) {
    if (t.name == name) return t;
    names.push_back(t.name);
  }
  throw RunnerError(
      fmt::format("--target {} is not a target; the targets are {} (see `sockspec targets`)", name,
                  fmt::join(names, ", ")));
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
