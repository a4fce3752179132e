// The GoogleTest cases under `sockspec faults`.
//
// A compiled case makes its calls itself: the campaign cannot rewrite it line by line as it
// rewrites a scripted case, but it can do to it what strace does to any program. A first run,
// traced, counts the socket system calls each process of the case makes; then, at occurrence
// N of each call S (strace counts per call and per process; every process of the case meets
// the fault at its own Nth S):
//
//   inject  S fails with each run-time errno the pages of S document
//           (strace -e inject=S:error=E:when=N);
//   signal  SIGWINCH is raised as S starts, caught by a handler the case process installs
//           with SA_RESTART and without (protocol::kFaultSignalVariable); S, if it would
//           block, is interrupted where it blocks: restarted, or ended with EINTR;
//   kill    the process is killed with SIGKILL as S starts: after its previous call;
//   limits  (no count needed) the case process starts its case with RLIMIT_NOFILE leaving
//           room for 0, 1 and 2 more fds (protocol::kFaultRoomVariable).
//
// What must hold under every fault: the case ends (no hang, no process outliving its
// deadline), and it passes (the fault did not matter to its rule) or fails saying what it
// met, so that a user reading the failure learns what happened: the injected errno, EINTR,
// EMFILE. Where a documented rule says more, it is checked: under SA_RESTART a socket call
// with no timeout set is restarted (signal(7)), so the case must pass as if nothing came; a
// case whose peer was killed must not pass unless it killed that peer itself. The scripted
// cases' other invariants (no byte lost, no fd leaked, a dead peer's rule) need a case's
// knowledge of its own calls, which a compiled case does not expose; they are checked on the
// scripted cases, many of which are twins of GoogleTest cases. The scripted limits plan also
// shrinks each socket's SO_SNDBUF, a line it adds after each socket is made; a compiled case
// makes its sockets where the campaign cannot add a call.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "runner/run_model.h"

namespace sockspec {

struct GoogleTestFault {
  CaseInfo run;       // the case under the fault, named "faults/CASE/PLAN-NNN"
  std::string plan;   // "inject", "signal", "kill" or "limits"
  std::string fault;  // "the 2nd sendto of each process fails with EINTR"
  // What a failure under the fault must name ("EINTR"), with the other words that name it
  // ("Interrupted system call"); empty: any failure will do (kill).
  std::vector<std::string> named_by;
  bool restarting = false;  // signal: caught with SA_RESTART
  std::string reproduce;    // the command line that runs the case under the same fault
};

// How many times the busiest process of a case made each socket system call, from the
// case's strace output (strace -f: "PID TIME CALL(...").
std::map<std::string, int> count_socket_calls(const std::filesystem::path& trace);

// The faulted runs of `c` under `plans`, given its counts; `suite` is the case program, for
// reproducers. At most `per_call` occurrences of each call are faulted.
std::vector<GoogleTestFault> googletest_faults(const CaseInfo& c,
                                               const std::map<std::string, int>& counts,
                                               const std::filesystem::path& suite,
                                               const std::vector<std::string>& plans,
                                               int per_call = 8);

// "" when the run shows what must hold; otherwise what went wrong. `trace` is the faulted
// run's trace (strace -f), empty when it was not traced; it is read only where the verdict
// needs it (a kill, a signal under SA_RESTART), not for each of the tens of thousands of
// runs a campaign judges.
std::string googletest_violation(const CaseResult& result, const GoogleTestFault& fault,
                                 const std::filesystem::path& trace);

}  // namespace sockspec
