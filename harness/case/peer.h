// A peer is a forked process that plays one party of a case ("server", "client").
//
// The peer runs a function; the controller (the case's own process) holds a Peer handle.
// The two order themselves with words over their channel, never with sleeps:
//
//   Peer& server = here.fork_peer("server", [&](PeerSelf& self) {
//     ... bind, listen ...
//     self.notify("listening");        // controller's server.await("listening") returns
//     self.await("go");                // returns when the controller says server.tell("go")
//   });
//
// A peer inherits every fd of the controller: it must close the ends it must not hold,
// or a close() elsewhere will not be the last close and no EOF or EPIPE will happen.
//
// GoogleTest expectations work inside a peer: each failure goes to the controller at once
// (so it survives the peer crashing later) and fails the case, with the peer's name.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "os/channel.h"
#include "os/exit_status.h"

namespace sockspec {

// The peer's side: what the peer function receives.
class PeerSelf {
 public:
  PeerSelf(std::string name, Channel channel, Clock::time_point deadline)
      : name_(std::move(name)), channel_(std::move(channel)), deadline_(deadline) {}

  const std::string& name() const { return name_; }
  // Tells the controller this peer has reached `word`.
  void notify(std::string_view word) { channel_.send("word", word); }
  // Waits until the controller says `word`; CaseError when it says another or the deadline passes.
  void await(std::string_view word);
  // Sends a value the controller reads with Peer::value(tag).
  void report(std::string_view tag, std::string_view value) {
    channel_.send("value:" + std::string(tag), value);
  }
  Clock::time_point deadline() const { return deadline_; }
  Channel& channel() { return channel_; }

 private:
  std::string name_;
  Channel channel_;
  Clock::time_point deadline_;
};

using PeerFunction = std::function<void(PeerSelf&)>;

// How a peer ended, with the failures it reported.
struct PeerOutcome {
  ExitStatus status;
  std::vector<std::string> failures;  // "file:line: message", in the order they happened

  // "exited with status 0", "was killed by SIGPIPE"
  std::string describe() const { return status.describe(); }
};

// The controller's side.
class Peer {
 public:
  Peer(std::string name, pid_t pid, Channel channel, Clock::time_point deadline);
  Peer(Peer&&) = default;
  ~Peer();

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }

  // Says `word` to the peer, releasing its await(word).
  void tell(std::string_view word) { channel_.send("word", word); }
  // Waits until the peer says `word`. CaseError if the peer ends first (its failures are
  // reported with it) or the deadline passes.
  void await(std::string_view word);
  // The next value the peer reported under `tag`.
  std::string value(std::string_view tag);
  // Waits until the peer is blocked in `syscall` (a kernel name: libc's send() is "sendto"
  // on x86-64, recv() is "recvfrom"), as seen in /proc. CaseError at the deadline, saying
  // what the peer was doing instead.
  void wait_until_blocked_in(std::string_view syscall);
  // Sends a signal (e.g. to interrupt a blocked call).
  void send_signal(int sig);
  // Waits until `sig`, sent earlier, is no longer pending: the peer has taken delivery.
  void wait_until_delivered(int sig);
  // SIGKILL now, at a point the case chose; returns the outcome once reaped. What the peer
  // reported failed before it died fails the case: its failures are test failures.
  PeerOutcome kill_now();
  // Waits for the peer to end (bounded) and returns how it ended with every failure it
  // reported. After join, the peer is done; join again returns the same outcome.
  PeerOutcome join();
  // Joins and records a test failure unless the peer ran to a clean end (exit 0, no failures).
  void expect_clean_exit();
  // Joins and records a test failure unless the peer was killed by `sig`.
  void expect_killed_by(int sig);
  bool joined() const { return joined_; }
  // In a sibling peer's process: closes this peer's channel and forgets the process, which
  // is not the sibling's to kill or reap.
  void drop_in_child() { channel_.close(), joined_ = true; }

 private:
  // The next word or value from the peer, collecting its failures on the way; nullopt once
  // the peer has finished (said "done" or closed its channel).
  std::optional<Message> next_message(std::string_view waiting_for);
  // Once: a second report of one failure would say the peer failed twice.
  void report_failures_as_test_failures(const PeerOutcome& outcome);
  [[noreturn]] void fail_early(std::string_view waiting_for);
  void end_if_left_blocked();

  std::string name_;
  pid_t pid_;
  Channel channel_;
  Clock::time_point deadline_;
  std::map<std::string, std::deque<std::string>, std::less<>> values_;
  std::vector<std::string> failures_;
  bool finished_ = false;  // the peer sent "done" or closed its channel
  bool joined_ = false;
  bool failures_reported_ = false;
  PeerOutcome outcome_;
};

// Runs `body` as a peer in this freshly forked process and never returns: sets the process
// name to "peer:NAME", routes GoogleTest failures and exceptions to the controller, exits.
[[noreturn]] void run_peer_body(PeerSelf& self, const PeerFunction& body);

}  // namespace sockspec
