// Fault plans: a scripted case rewritten, once per fault point, into a faulted case of the
// same language (sockspec faults). Up to its fault the faulted case is the case as written;
// the fault is one line of the language; the lines after it say "= ?" (any result, judged by
// the fault invariants, fault_invariants.h), except where a documented rule says what the
// fault must produce, which is written out. A faulted case is its own reproducer: `sockspec
// script` runs it.
//
//   inject  before each call, that call fails with each run-time errno its man pages list
//           ("ACTOR: inject EINTR into sendto", strace -e inject); the call must return it
//   signal  while each call that blocks is blocked, SIGUSR1 (or another signal the case does
//           not use) to a handler installed with and
//           without SA_RESTART: signal(7) says which calls restart and which fail with EINTR
//   kill    SIGKILL of each actor process after each of its calls
//   limits  each actor process started with RLIMIT_NOFILE at its open fds + 0, 1 and 2; each
//           socket made given the smallest SO_SNDBUF
//
// Besides these, every case has one unfaulted run ("none"): the case as written, with the
// invariants checked, which shows that the invariants hold where nothing was injected.
#pragma once

#include <string>
#include <vector>

#include "script/script.h"

namespace sockspec::script {

// The plans, in the order they run; "none" is not among them.
const std::vector<std::string>& fault_plan_names();

struct FaultedCase {
  std::string plan;   // "inject", "signal", "kill", "limits", or "none"
  std::string fault;  // "inject EINTR into sendto at line 12", for people
  int line = 0;       // the line of the case the fault is at (0 for "none")
  std::string text;   // the faulted case
};

// The faulted cases of `script` (parsed from `text`) under `plans`, its unfaulted run first.
std::vector<FaultedCase> faulted_cases(const Script& script, const std::string& text,
                                       const std::vector<std::string>& plans);

}  // namespace sockspec::script
