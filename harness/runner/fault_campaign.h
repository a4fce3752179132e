// `sockspec faults`: the scripted cases under fault plans (script/fault_plans.h), each faulted
// case run like any case (in parallel, watched for hangs, traced when it fails), its fault
// invariants checked (script/fault_invariants.h). A faulted case that fails is a violation:
// the report has the case, the fault, the failure, the trace, and the faulted case itself,
// which reproduces it (`sockspec script FILE`). Prints "N fault points, N violations" and
// writes REPORT/faults.json.
#pragma once

#include <string>
#include <vector>

#include "runner/engine/run_cases.h"
#include "runner/run_model.h"

namespace sockspec {

// Runs the campaign over `cases` (the scripted ones; others are named and left out). Exit
// status as for run: 0 no violation, 1 violations, 128+N interrupted by signal N.
int run_fault_campaign(const std::vector<CaseInfo>& cases, const std::vector<std::string>& plans,
                       const RunOptions& options);

}  // namespace sockspec
