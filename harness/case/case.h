// The world of one case: its private directory, its abstract-name prefix, its deadline and
// its peers. Each case runs in a process of its own (the runner starts one per case), so a
// crash, a hang or a leaked fd stays inside it.
//
// Set-up when a case starts:
//   - a private temp dir, which becomes the working directory: relative pathnames such as
//     "srv" name sockets inside it, so parallel cases never collide on the filesystem;
//   - an abstract-name prefix unique to the case, since abstract names are machine-wide
//     (per network namespace) and not cleaned up by any filesystem;
//   - SIGPIPE at its default disposition and unblocked: what SIGPIPE does to a writer is
//     under test, so no case may inherit it ignored.
// When it ends: peers still running are killed and reaped, the directory is removed.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "case/peer.h"
#include "os/channel.h"
#include "os/host.h"
#include "os/spawn.h"

namespace sockspec {

class Case {
 public:
  // `id` names the case in trace files and abstract names (the GoogleTest name).
  explicit Case(std::string id);
  ~Case();
  Case(const Case&) = delete;
  Case& operator=(const Case&) = delete;

  // The case running in this process (there is one at a time).
  static Case& current();
  static bool running();

  const std::filesystem::path& dir() const { return dir_; }
  // The working directory the process had before the case made its own dir its cwd.
  const std::filesystem::path& started_in() const { return previous_cwd_; }
  // A name for an abstract socket that no other case, now or in parallel, uses:
  // "<prefix><stem>-<n>".
  std::string abstract_name(std::string_view stem);
  // A fresh relative pathname in the case's dir: "<stem>-<n>".
  std::string path_name(std::string_view stem);
  Clock::time_point deadline() const { return deadline_; }

  // Forks a peer that runs `body`; returns once the peer exists.
  Peer& fork_peer(std::string name, PeerFunction body);
  // Joins every peer not yet joined, recording a failure for each that did not end cleanly.
  void join_all();

  // Where a trace of `what` for this case goes: the runner's trace dir when it set one
  // (SOCKSPEC_TRACE_DIR), else the case dir. The case's result record lists it.
  std::filesystem::path trace_path(std::string_view what) const;

 private:
  std::string id_;
  std::filesystem::path dir_;
  bool own_dir_ = false;  // made here (not by the runner), so removed here
  std::filesystem::path previous_cwd_;
  std::string abstract_prefix_;
  int serial_ = 0;
  Clock::time_point deadline_;
  std::deque<Peer> peers_;
};

// At the start of a case that needs something this machine may lack ("root", "strace",
// "netns", "fuse": `sockspec features`): skips the case with the reason where it is missing.
#define SOCKSPEC_REQUIRES(feature)                                           \
  if (const std::string sockspec_why_not = ::sockspec::why_missing(feature); \
      !sockspec_why_not.empty())                                             \
  GTEST_SKIP() << sockspec_why_not

// Base fixture: one Case per test.
class CaseTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  Case& here() { return *case_; }

 private:
  std::optional<Case> case_;
};

}  // namespace sockspec
