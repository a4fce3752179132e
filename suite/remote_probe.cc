// sockspec-remote-probe: the guest half of the "second kernel" cases in no_remote_reach_test.cc.
//
// It runs as init (PID 1) of a User-mode Linux guest whose root filesystem is the host's "/"
// seen through hostfs, so the guest sees the case directory at the same absolute path as the
// host. The guest kernel cannot hand results back through its exit code, so the probe talks
// to the host through files in the directory named by SOCKSPEC_PROBE_DIR (a word with '='
// on the kernel command line becomes an environment variable of init):
//
//   task     written by the host, one line: "connect PATH" or "listen PATH"
//   result   written here, one "key value" line per step ("kernel 6.1.176" first), each
//            flushed to the host with fsync
//   release  created by the host when a "listen" task may end
//
// "connect PATH": records what the guest sees at PATH (stat) and what connect() says.
// "listen PATH":  binds and listens at PATH, records "listen ok", then waits until the host
//                 creates "release" (bounded by SOCKSPEC_PROBE_WAIT_MS), and connects to its
//                 own socket from inside the guest.
// Either way it ends by powering the guest off, which ends the UML process on the host.
#include <fcntl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "os/names.h"

namespace {

class ResultFile {
 public:
  explicit ResultFile(std::string path) : path_(std::move(path)) {}
  void record(std::string_view key, std::string_view value) const {
    const std::string line = std::string(key) + " " + std::string(value) + "\n";
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(stderr, "probe: cannot open %s: %s\n", path_.c_str(), std::strerror(errno));
      return;
    }
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      std::fprintf(stderr, "probe: short write to %s\n", path_.c_str());
    ::fsync(fd);  // hostfs passes it on: the host reads the file while the guest still runs
    ::close(fd);
  }

 private:
  std::string path_;
};

// "ok" or the errno name of the failed call.
std::string outcome(int ret) {
  return ret == 0 ? "ok" : sockspec::errno_name(errno);
}

bool fill_address(const std::string& path, sockaddr_un& address) {
  address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return false;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return true;
}

// "connected" or the errno name of connect() (or of socket()).
std::string try_connect(const std::string& path) {
  sockaddr_un address;
  if (!fill_address(path, address)) return "path-too-long";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket:" + sockspec::errno_name(errno);
  const int ret = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const std::string result = ret == 0 ? "connected" : sockspec::errno_name(errno);
  ::close(fd);
  return result;
}

// "socket", "regular", "other", or the errno name of stat().
std::string file_type(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return sockspec::errno_name(errno);
  if (S_ISSOCK(st.st_mode)) return "socket";
  if (S_ISREG(st.st_mode)) return "regular";
  return "other";
}

void pause_briefly() {
  const timespec pause{0, 2'000'000};
  ::nanosleep(&pause, nullptr);
}

long now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000;
}

void run_connect(const ResultFile& result, const std::string& path) {
  result.record("stat", file_type(path));
  result.record("connect", try_connect(path));
}

void run_listen(const ResultFile& result, const std::string& path, const std::string& dir,
                long wait_ms) {
  sockaddr_un address;
  if (!fill_address(path, address)) {
    result.record("bind", "path-too-long");
    return;
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  result.record("bind",
                outcome(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address))));
  result.record("listen", outcome(::listen(fd, 4)));
  // The host now tries the same path from its own kernel, then says "release".
  const std::string release = dir + "/release";
  const long give_up = now_ms() + wait_ms;
  bool released = ::access(release.c_str(), F_OK) == 0;
  while (!released && now_ms() < give_up) {
    pause_briefly();
    released = ::access(release.c_str(), F_OK) == 0;
  }
  result.record("release", released ? "seen" : "timeout");
  // Inside the guest the name works: the guest kernel registered the socket on its inode.
  result.record("self-connect", try_connect(path));
  ::close(fd);
}

[[noreturn]] void power_off() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  // Init must never exit (the kernel would panic); if power-off failed, stay.
  for (;;) ::pause();
}

}  // namespace

int main() {
  const char* dir = std::getenv("SOCKSPEC_PROBE_DIR");
  if (!dir || !*dir) {
    std::fprintf(stderr, "probe: SOCKSPEC_PROBE_DIR is not set\n");
    power_off();
  }
  const char* wait = std::getenv("SOCKSPEC_PROBE_WAIT_MS");
  const long wait_ms = wait ? std::atol(wait) : 5000;
  const ResultFile result(std::string(dir) + "/result");

  utsname uts{};
  ::uname(&uts);
  result.record("kernel", uts.release);

  std::ifstream task_file(std::string(dir) + "/task");
  std::string line;
  std::getline(task_file, line);
  std::istringstream task(line);
  std::string action, path;
  task >> action >> path;
  if (action == "connect") {
    run_connect(result, path);
  } else if (action == "listen") {
    run_listen(result, path, dir, wait_ms);
  } else {
    result.record("error", "unknown task: " + line);
  }
  result.record("done", "yes");
  power_off();
}
