// The GoogleTest cases under the inject plan of `sockspec faults`.
//
// A compiled case makes its calls itself: the campaign cannot rewrite it line by line as it
// rewrites a scripted case, but it can do to it what strace does to any program. A first run,
// traced, counts the socket system calls each process of the case makes; then occurrence N of
// each call S fails, in every process of the case, with each run-time errno the pages of S
// document (strace -e inject=S:error=E:when=N; strace counts per call and per process).
//
// What must hold under such a fault: the case ends (no hang), and it passes (the fault did
// not matter to its rule) or fails saying what it met, its message naming the errno, so that
// a user reading the failure learns what happened. The scripted cases' other invariants (no
// byte lost, no fd leaked, a dead peer's rule) need a case's knowledge of its own calls:
// which fd is which socket and what was sent, which a compiled case does not expose; they
// are checked on the scripted cases, many of which are twins of GoogleTest cases.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "runner/run_model.h"

namespace sockspec {

struct GoogleTestFault {
  CaseInfo run;            // the case under the fault, named "faults/CASE/inject-NNN"
  std::string fault;       // "the 2nd sendto of each process fails with EINTR"
  std::string errno_name;  // "EINTR"
  std::string reproduce;   // the command line that runs the case under the same fault
};

// How many times the busiest process of a case made each socket system call, from the
// case's strace output (strace -f: "PID TIME CALL(...").
std::map<std::string, int> count_socket_calls(const std::filesystem::path& trace);

// The faulted runs of `c`, given its counts; `suite` is the case program, for reproducers.
// At most `per_call` occurrences of each call are faulted.
std::vector<GoogleTestFault> googletest_faults(const CaseInfo& c,
                                               const std::map<std::string, int>& counts,
                                               const std::filesystem::path& suite,
                                               int per_call = 8);

// "" when the run shows what must hold; otherwise what went wrong.
std::string googletest_violation(const CaseResult& result, const GoogleTestFault& fault);

}  // namespace sockspec
