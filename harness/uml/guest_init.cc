// sockspec-uml-init: the first process of a User-mode Linux guest that serves cases for the
// runner (--target uml). The guest's root is the host's "/" through hostfs, so the case
// program, its files and the run's folder are where the runner put them; the guest has its
// own kernel, /proc, processes, and sockets.
//
// The runner's line to the server is the guest's second console: UML attaches its con1 to
// the pipes the runner gave UML as stdin and stdout (con1=fd:0,fd:1), and this init makes
// /dev/tty1 raw (no echo, no line editing, no newline translation), so the protocol's bytes
// pass unchanged. The first console (con0) is the server's stderr and the kernel's messages,
// which UML writes to its own stderr: the server log. Once the line is set up the init says
// kReady on it; the runner sends nothing before (what came earlier would be lost while the
// guest boots).
//
// From the kernel command line (words with '=' the kernel does not know become this
// process's environment): SOCKSPEC_UML_COMMAND, the server's command line in hex with a 0
// byte after each word; SOCKSPEC_UML_CWD, where it starts (a tmpfs is mounted there). When the
// server exits, the init syncs and powers the guest off; UML then exits.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr const char* kReady = "sockspec-uml: ready\n";

std::string variable(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Says what went wrong on the console the runner logs, and powers off.
[[noreturn]] void give_up(const std::string& what) {
  std::fprintf(stderr, "sockspec-uml-init: %s: %s\n", what.c_str(), std::strerror(errno));
  ::sync();
  ::reboot(RB_POWER_OFF);
  ::_exit(1);
}

std::vector<std::string> decode_command(const std::string& hex) {
  std::vector<std::string> words(1);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    const char c = static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    if (c == '\0')
      words.emplace_back();
    else
      words.back() += c;
  }
  words.pop_back();  // after the last word's 0 byte
  return words;
}

// What the host's kernel has built in or loaded, and Debian's UML has as modules: FUSE (the
// cases that mount one need /dev/fuse), unix_diag (sock_diag for AF_UNIX) and IPv6, after
// the one module it depends on (modules.dep). kmod is not at hand, so each is loaded by its
// file. A guest without one reports the cases that need it as they fail or skip.
void load_modules() {
  utsname u{};
  ::uname(&u);
  const std::string dir = std::string("/usr/lib/uml/modules/") + u.release + "/kernel/";
  for (const char* module :
       {"fs/fuse/fuse.ko", "net/unix/unix_diag.ko", "lib/crc-ccitt.ko", "net/ipv6/ipv6.ko"}) {
    const int fd = ::open((dir + module).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    // No C library wraps finit_module(2); this is the guest's set-up, not a call under test.
    if (::syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
      std::fprintf(stderr, "sockspec-uml-init: loading %s: %s\n", module, std::strerror(errno));
    ::close(fd);
  }
}

}  // namespace

int main() {
  if (::mount("proc", "/proc", "proc", 0, nullptr) != 0 && errno != EBUSY) give_up("mount /proc");
  ::mount("sysfs", "/sys", "sysfs", 0, nullptr);

  const int console = ::open("/dev/tty0", O_WRONLY | O_CLOEXEC);
  if (console >= 0) ::dup2(console, STDERR_FILENO);
  load_modules();
  const int line = ::open("/dev/tty1", O_RDWR);
  if (line < 0) give_up("open /dev/tty1");
  termios raw{};
  if (::tcgetattr(line, &raw) != 0) give_up("tcgetattr /dev/tty1");
  ::cfmakeraw(&raw);
  if (::tcsetattr(line, TCSANOW, &raw) != 0) give_up("tcsetattr /dev/tty1");
  ::dup2(line, STDIN_FILENO);
  ::dup2(line, STDOUT_FILENO);
  ::close(line);

  const std::vector<std::string> command = decode_command(variable("SOCKSPEC_UML_COMMAND"));
  if (command.empty()) give_up("SOCKSPEC_UML_COMMAND names no command");
  ::unsetenv("SOCKSPEC_UML_COMMAND");
  const std::string cwd = variable("SOCKSPEC_UML_CWD");
  ::unsetenv("SOCKSPEC_UML_CWD");
  // The cases bind their sockets in the server's dir: a tmpfs of the guest's own, as a run
  // dir on the host is a local filesystem, not hostfs (whose inodes the guest cannot keep a
  // socket on: a guest's bind there makes a host file). Their results go elsewhere in the
  // run's folder, which stays the host's.
  if (!cwd.empty() && ::mount("tmpfs", cwd.c_str(), "tmpfs", 0, "mode=0755") != 0)
    give_up("mount a tmpfs on " + cwd);
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) give_up("chdir " + cwd);

  if (::write(STDOUT_FILENO, kReady, std::strlen(kReady)) < 0) give_up("write the ready line");
  const pid_t server = ::fork();
  if (server < 0) give_up("fork");
  if (server == 0) {
    std::vector<char*> argv;
    for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    give_up("exec " + command[0]);
  }
  // As the guest's first process, the init inherits every orphan: each is reaped here.
  int status = 0;
  while (true) {
    const pid_t ended = ::wait(&status);
    if (ended == server || (ended < 0 && errno == ECHILD)) break;
  }
  ::sync();
  ::reboot(RB_POWER_OFF);
  return 0;
}
