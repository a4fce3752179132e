// The one way the project starts a program: a case server, a traced case process, a target's
// self-check, strace for an injected fault, an actor program, bindfs, User-mode Linux.
//
//   Child uml = spawn({.argv = {"/usr/bin/linux", "mem=128M", ...},
//                      .out = Redirect::append(log), .err = Redirect::same_as_stdout()});
//   if (auto status = uml.wait_until(deadline)) ...; else uml.stop(1s);
//
// The child starts with what the options say and nothing else: stdin from /dev/null unless
// told otherwise, every signal at its default disposition and none blocked, and none of the
// parent's file descriptors but 0, 1, 2 and `keep_fds`. A program that cannot be started is
// a SpawnError naming the program and the reason, never a child that exits 127 in silence.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "os/clock.h"
#include "os/exit_status.h"

namespace sockspec {

// Where one of the child's standard streams goes.
struct Redirect {
  enum class Kind { kInherit, kNull, kTruncate, kAppend, kFd, kSameAsStdout };
  Kind kind = Kind::kInherit;
  std::filesystem::path path;
  int fd = -1;

  static Redirect inherit() { return {}; }
  static Redirect null() { return {Kind::kNull, {}, -1}; }
  static Redirect truncate(std::filesystem::path p) { return {Kind::kTruncate, std::move(p), -1}; }
  static Redirect append(std::filesystem::path p) { return {Kind::kAppend, std::move(p), -1}; }
  static Redirect to_fd(int fd) { return {Kind::kFd, {}, fd}; }
  static Redirect same_as_stdout() { return {Kind::kSameAsStdout, {}, -1}; }
};

// Which process group and session the child is in.
enum class Grouping {
  kSameGroup,   // the parent's: a kill of the parent's group reaches it
  kOwnGroup,    // a group of its own, in the parent's session
  kOwnSession,  // a session (and group) of its own, with no controlling terminal
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the program's path
  // The whole environment ("NAME=value"); nullopt: this process's.
  std::optional<std::vector<std::string>> env;
  std::filesystem::path cwd;  // empty: this process's
  Redirect in = Redirect::null();
  Redirect out = Redirect::inherit();
  Redirect err = Redirect::inherit();
  Grouping grouping = Grouping::kSameGroup;
  std::vector<int> keep_fds;  // open in the child under the same numbers
  // Out of reach of a tracer that follows this process's children (strace -f): cloned with
  // CLONE_UNTRACED, so that another tracer may attach to it (strace -p, to inject a fault),
  // and so that a helper's own calls (bindfs, strace, User-mode Linux) stay out of the
  // case's trace.
  bool untraced = false;
};

struct SpawnError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A started program, until it is reaped. Destroying a Child that still runs kills (SIGKILL)
// and reaps it, so a child cannot outlive the code that started it by accident.
class Child {
 public:
  Child() = default;
  Child(pid_t pid, std::string program);
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  // Readable when the child has ended; -1 where pidfd_open() is missing (valgrind 3.19 and
  // gVisor lack it), in which case the waits below poll.
  int pidfd() const { return pidfd_; }
  const std::string& program() const { return program_; }
  bool running() const { return pid_ > 0 && !status_; }

  std::optional<ExitStatus> try_wait();
  // Waits until the child ends or `until` passes (then nullopt: it still runs).
  std::optional<ExitStatus> wait_until(Clock::time_point until);
  ExitStatus wait();
  // Waits until the child has ended or `until` passes, without reaping it: until it is
  // reaped, its pid and the id of the group it leads cannot be reused.
  bool ended_by(Clock::time_point until);
  // For a child that leads a process group or session: SIGKILLs the whole group, then reaps
  // the child (the group is killed before the reaping, while its id cannot be reused).
  ExitStatus kill_group();
  // SIGTERM, and SIGKILL if it has not ended within `grace`.
  ExitStatus stop(std::chrono::milliseconds grace);
  ExitStatus kill();
  void signal(int sig) const;
  // In a forked process that must leave this child alone: forget it without killing it.
  void forget();

 private:
  void close_pidfd();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::string program_;
  std::optional<ExitStatus> status_;
};

Child spawn(const SpawnOptions& options);

// This process's environment without the variables whose names start with one of
// `drop_prefixes`, then with `set` added ("NAME=value" each).
std::vector<std::string> environment_with(const std::vector<std::string>& set,
                                          const std::vector<std::string_view>& drop_prefixes = {});

// Runs `argv` with stdout and stderr captured together, for at most `limit`: what a
// self-check or a listing needs. `status` is nullopt when the program was still running at
// the limit (it is killed, with its process group).
struct Captured {
  std::optional<ExitStatus> status;
  std::string output;
};
// `set` is added to this process's environment.
Captured run_captured(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                      const std::vector<std::string>& set = {});

}  // namespace sockspec
