#include "os/host.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "os/files.h"
#include "os/names.h"
#include "os/namespaces.h"
#include "os/proc.h"
#include "os/spawn.h"

namespace sockspec {

bool Tool::installed() const {
  return ::access(std::string(path).c_str(), X_OK) == 0;
}

std::string Tool::not_installed() const {
  return fmt::format("{} is not installed (apt-get install -y {})", name, package);
}

std::vector<std::string> strace_command(const StraceOptions& o) {
  std::vector<std::string> argv{std::string(kStrace.path)};
  if (o.quiet) argv.push_back("--quiet=all");
  argv.insert(argv.end(), {"-f"});
  argv.insert(argv.end(), {"-tt", "-T", "-yy", "-X", "verbose", "-s", "256"});
  for (const auto& i : o.inject) argv.insert(argv.end(), {"-e", i});
  argv.insert(argv.end(), {"-o", o.output});
  if (o.attach > 0)
    argv.insert(argv.end(), {"-p", std::to_string(o.attach)});
  else
    argv.push_back("--");
  return argv;
}

std::size_t host_xsave_bytes() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx)) return 0;
  return ebx;
#else
  return 0;
#endif
}

namespace {

std::filesystem::path uml_xstate_shim() {
  std::error_code ec;
  return std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / kUmlXstateShim;
}

bool uml_buffer_too_small() {
  return host_xsave_bytes() > kUmlXstateBytes;
}

}  // namespace

std::vector<std::string> uml_environment() {
  const auto shim = uml_xstate_shim();
  if (!uml_buffer_too_small() || ::access(shim.c_str(), R_OK) != 0) return {};
  return {"LD_PRELOAD=" + shim.string()};
}

std::string uml_xsave_note() {
  const std::size_t host = host_xsave_bytes();
  if (!uml_buffer_too_small())
    return fmt::format(
        "this host's XSAVE area is {} bytes: User-mode Linux's FPU buffer ({} "
        "bytes, up to Linux 6.12) holds it",
        host, kUmlXstateBytes);
  return fmt::format(
      "this host's XSAVE area is {} bytes{}, more than User-mode Linux up to 6.12 hands the host "
      "({} bytes: PTRACE_SETREGSET fails with EFAULT, fixed in Linux 6.13 by 3f17fed21491); {}",
      host, host >= 2816 ? " (AMX)" : "", kUmlXstateBytes,
      uml_environment().empty()
          ? fmt::format("{} is not beside {}: build it (cmake --build build)", kUmlXstateShim,
                        uml_xstate_shim().parent_path().string())
          : fmt::format("UML runs under {}, which hands the host a whole area", kUmlXstateShim));
}

bool inside_user_mode_linux() {
  return read_file("/proc/cpuinfo").find("User Mode Linux") != std::string::npos;
}

std::string uml_cannot_run_reason(const std::string& console) {
  if (console.find("Attempted to kill init! exitcode=0x0000000b") == std::string::npos) return "";
  const std::string how =
      "User-mode Linux cannot run processes on this host: its first process was killed by "
      "SIGSEGV before it ran (the guest kernel panicked \"Attempted to kill init! "
      "exitcode=0x0000000b\")";
  if (!uml_buffer_too_small())
    return how + fmt::format(
                     "; this host's XSAVE area ({} bytes) fits UML's FPU buffer, so the "
                     "cause is not the one known (AMX)",
                     host_xsave_bytes());
  return how + "; " + uml_xsave_note();
}

namespace {

struct KernelVersion {
  int major = 0, minor = 0;
};
KernelVersion kernel_version() {
  utsname u{};
  ::uname(&u);
  KernelVersion v;
  std::sscanf(u.release, "%d.%d", &v.major, &v.minor);
  return v;
}

// A socket option that appeared in a given Linux version. Decided by the version the kernel
// reports, not by trying the option: under an emulator that passes calls to a newer kernel
// (qemu-user), an option the emulator does not translate is a divergence to see, not a case
// to skip. gVisor reports the Linux version whose interface it implements.
std::function<std::string()> kernel_since(int major, int minor, std::string what) {
  return [=] {
    const KernelVersion v = kernel_version();
    if (v.major > major || (v.major == major && v.minor >= minor)) return std::string();
    return fmt::format("{} appeared in Linux {}.{}; this kernel reports {}.{}", what, major, minor,
                       v.major, v.minor);
  };
}

// An LSM that gives sockets a security context (SELinux, AppArmor, Smack): the process's own
// context is readable in /proc/self/attr/current.
std::string why_no_security_contexts() {
  std::FILE* file = std::fopen("/proc/self/attr/current", "r");
  if (!file)
    return fmt::format("no LSM gives processes a security context (/proc/self/attr/current: {})",
                       errno_name(errno));
  char context[256];
  const std::size_t n = std::fread(context, 1, sizeof context, file);
  const int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (n == 0)
    return fmt::format(
        "no LSM gives processes a security context (reading /proc/self/attr/current: {})",
        error ? errno_name(error) : "empty");
  return "";
}

// User-mode Linux is usable when a guest can run a process: booted with /bin/true as init,
// a working guest panics with exitcode=0x00000000 when its init exits.
std::string why_no_user_mode_linux() {
  if (!kUserModeLinux.installed()) return kUserModeLinux.not_installed();
  if (inside_user_mode_linux())
    return "this is a User-mode Linux guest already (the uml target): UML inside UML is not "
           "tried";
  char dir[] = "/tmp/sockspec-uml-check.XXXXXX";
  if (!::mkdtemp(dir)) return fmt::format("cannot make a temp dir: {}", std::strerror(errno));
  const Captured c = run_captured(
      {std::string(kUserModeLinux.path), "mem=64M", "root=/dev/root", "rootfstype=hostfs",
       "rootflags=/", "rw", "init=/bin/true", "con=null", "con0=null,fd:1", "pty.legacy_count=0",
       std::string("uml_dir=") + dir, "umid=check"},
      std::chrono::seconds(20), uml_environment());
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (c.output.find("exitcode=0x00000000") != std::string::npos) return "";
  if (std::string why = uml_cannot_run_reason(c.output); !why.empty()) return why;
  const auto last = c.output.find_last_not_of("\n ");
  const auto start = c.output.rfind('\n', last);
  return "User-mode Linux did not boot: " +
         (last == std::string::npos
              ? std::string("it printed nothing")
              : c.output.substr(start == std::string::npos ? 0 : start + 1, last - start));
}

std::string why_no_fuse() {
  if (!kBindfs.installed()) return kBindfs.not_installed() + " (and fuse3)";
  if (::access("/dev/fuse", R_OK | W_OK) != 0)
    return fmt::format(
        "/dev/fuse cannot be opened for reading and writing ({}): load FUSE "
        "(modprobe fuse) and run as root",
        errno_name(errno));
  if (::geteuid() != 0) return "needs root to mount a FUSE filesystem in a private mount namespace";
  return "";
}

// A new network namespace: tried in a forked child, so this process stays where it is.
std::string why_no_network_namespace() {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return "pipe2 failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string why = enter_new_network_namespace();
    [[maybe_unused]] auto ignored = ::write(pipe_fds[1], why.data(), why.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string why;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    why.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  ::waitpid(pid, nullptr, 0);
  return why.empty() ? "" : "cannot make a network namespace: " + why;
}

// MSG_OOB on AF_UNIX stream sockets: Linux 5.15 and later, with CONFIG_AF_UNIX_OOB.
std::string why_no_af_unix_oob() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return "socketpair failed";
  const ssize_t sent = ::send(pair[0], "x", 1, MSG_OOB | MSG_DONTWAIT);
  const int error = errno;
  ::close(pair[0]);
  ::close(pair[1]);
  if (sent == 1) return "";
  return fmt::format(
      "send(MSG_OOB) on an AF_UNIX stream socket fails with {} (Linux 5.15 and "
      "CONFIG_AF_UNIX_OOB add it)",
      errno_name(error));
}

// Landlock with scopes (ABI 6, Linux 6.12): `landlock scope abstract` in a script. The
// version query has no libc wrapper; it asks, and restricts nothing.
std::string why_no_landlock_scope() {
  constexpr long kCreateRuleset = 444;         // SYS_landlock_create_ruleset on every architecture
  constexpr unsigned kVersionQuery = 1U << 0;  // LANDLOCK_CREATE_RULESET_VERSION
  const long abi = ::syscall(kCreateRuleset, nullptr, 0, kVersionQuery);
  if (abi < 0)
    return fmt::format(
        "Landlock is not available: its calls fail with {} (a kernel needs "
        "CONFIG_SECURITY_LANDLOCK and landlock in lsm=; an emulator may not "
        "implement them)",
        errno_name(errno));
  if (abi < 6) return fmt::format("Landlock ABI {} has no scopes (ABI 6, Linux 6.12)", abi);
  return "";
}

// A process has one tracer. Under our own strace (a traced re-run) the actors a fault goes into
// are started out of its reach; under another tracer (proot, which runs the case through
// ptrace) strace cannot attach to them.
std::string strace_cannot_attach() {
  const ForeignTracer tracer = foreign_tracer();
  if (tracer.pid == 0) return "";
  return fmt::format(
      "this process is traced by {} (pid {}), so strace cannot attach to its "
      "processes",
      tracer.name, tracer.pid);
}

struct FeatureCheck {
  std::string name;
  std::function<std::string()> why_not;
};

std::vector<FeatureCheck> feature_checks() {
  const KernelVersion v = kernel_version();
  const bool root = ::geteuid() == 0;
  return {
      {"linux", [] { return std::string(); }},
      {fmt::format("linux-{}", v.major), [] { return std::string(); }},
      {fmt::format("linux-{}.{}", v.major, v.minor), [] { return std::string(); }},
      {"root", [root] { return root ? "" : std::string("needs root"); }},
      {"nonroot",
       [root] { return root ? std::string("needs to run as a user other than root") : ""; }},
      {"strace",
       [] { return kStrace.installed() ? strace_cannot_attach() : kStrace.not_installed(); }},
      {"fuse", why_no_fuse},
      {"netns", why_no_network_namespace},
      {"af-unix-oob", why_no_af_unix_oob},
      {"landlock-scope", why_no_landlock_scope},
      {"so-passpidfd", kernel_since(6, 5, "SO_PASSPIDFD, SCM_PIDFD and SO_PEERPIDFD")},
      {"so-passrights", kernel_since(6, 16, "SO_PASSRIGHTS")},
      {"so-inq", kernel_since(6, 16, "SO_INQ on AF_UNIX")},
      {"security-contexts", why_no_security_contexts},
      {"no-security-contexts",
       [] {
         return why_no_security_contexts().empty()
                    ? std::string("an LSM gives processes security contexts here")
                    : "";
       }},
      {"proc-pid-syscall",
       [] {
         return ::access("/proc/self/syscall", R_OK) == 0
                    ? ""
                    : std::string("/proc/PID/syscall is missing (CONFIG_HAVE_ARCH_TRACEHOOK)");
       }},
      {"uml", why_no_user_mode_linux},
  };
}

}  // namespace

std::vector<Feature> host_features() {
  std::vector<Feature> features;
  for (const auto& check : feature_checks()) features.push_back({check.name, check.why_not()});
  return features;
}

std::string why_missing(std::string_view feature) {
  for (const auto& check : feature_checks())
    if (check.name == feature) return check.why_not();
  // A kernel version this machine is not: "linux-5" on Linux 6, "linux-6.1" on 6.18.
  if (feature.starts_with("linux-")) return fmt::format("needs {}", feature);
  return fmt::format("{} is not a feature sockspec knows (see `sockspec features`)", feature);
}

}  // namespace sockspec
