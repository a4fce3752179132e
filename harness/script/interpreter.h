// Runs a parsed scripted case: one forked process per actor, one line at a time, each
// result compared with what the line says Linux returns.
#pragma once

#include <ostream>

#include "script/script.h"

namespace sockspec::script {

// Exit statuses of one interpreted case (also those of `sockspec script --one`).
constexpr int kScriptPassed = 0;
constexpr int kScriptFailed = 1;
constexpr int kScriptSkipped = 77;

// Runs `script` in the current case (private dir, deadline: see case.h); prints each
// mismatch to `out` and returns one of the statuses above.
int interpret(const Script& script, std::ostream& out);

}  // namespace sockspec::script
