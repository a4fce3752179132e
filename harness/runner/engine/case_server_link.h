// The runner's end of one case server (server/case_server.h): the server is started once,
// on the run's target, and then sent one case at a time. One link per worker (-j slot).
//
//   [target wrapper] CASE_PROGRAM --sockspec-serve      stdin: requests, stdout: replies
//
// The server and its wrapper lead a session of their own; each case the server forks leads
// another. The link notices the server's death by the end of its replies.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "os/fd.h"
#include "os/spawn.h"
#include "protocol/case_protocol.h"
#include "runner/engine/target.h"

namespace sockspec {

class CaseServerLink {
 public:
  // Starts `program --sockspec-serve` on `target`, in `place.work_dir` (below the run dir
  // `place.run_dir`), with `env` as its whole environment; its own diagnostics go to `log`.
  CaseServerLink(const Target& target, const std::filesystem::path& program, const WrapPlace& place,
                 const std::vector<std::string>& env, std::filesystem::path log);
  // Ends the server and whatever runs under it.
  ~CaseServerLink();
  CaseServerLink(const CaseServerLink&) = delete;
  CaseServerLink& operator=(const CaseServerLink&) = delete;

  void run(const protocol::CaseRequest& request);
  // Tells the server there will be no more cases: it exits, and its wrapper with it.
  void end_input() { requests_.reset(); }
  void kill(std::uint64_t id, bool describe);

  // Readable when a reply has arrived, or when the server died.
  int reply_fd() const { return replies_.get(); }
  // The replies that have arrived; call when reply_fd() is readable. After the server's
  // death it returns what was left, and dead() is true.
  std::vector<protocol::ServerReply> read_replies();
  bool dead() const { return dead_; }
  // How the server ended, with the end of its log: for the case it was running.
  std::string how_it_died();
  // How much the server and its wrapper have written to their log so far, and what they
  // wrote from there on: under memcheck, the report of an error in the case it served.
  std::uintmax_t log_size() const;
  std::string log_since(std::uintmax_t offset) const;
  // The server's process on the host (its wrapper's, where there is one).
  pid_t pid() const { return child_.pid(); }

 private:
  void send(const std::string& message);

  Child child_;
  Fd requests_;
  Fd replies_;
  std::filesystem::path log_;
  std::string pending_;
  // Until the target's server says it is ready (Target::server_greeting), what is sent is
  // kept here.
  std::string greeting_;
  std::string held_;
  bool dead_ = false;
};

}  // namespace sockspec
