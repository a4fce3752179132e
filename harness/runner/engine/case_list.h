// Finding the cases: the case program lists its own (--sockspec-list), with each case's
// rule; the scripted cases are parsed from their files.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runner/run_model.h"

namespace sockspec {

// Runs `suite --sockspec-list`. RunnerError when the program is missing or says nonsense.
std::vector<CaseInfo> discover_cases(const std::filesystem::path& suite);

// One scripted case named `name`, with the rule and citation from its header. A malformed
// script is a RunnerError naming file:line:column.
CaseInfo scripted_case(const std::filesystem::path& file, std::string name);

// The scripted cases under `dir` (every *.case, in path order), named "script/<path>" after
// their path below `dir`.
std::vector<CaseInfo> discover_scripts(const std::filesystem::path& dir);

// "POS1:POS2:-NEG1:NEG2", each a glob with * and ?: GoogleTest's filter syntax, except that
// the negative part starts only at a '-' that begins a pattern (case names have dashes). A
// pattern matches a case's name or one of the catalogue rows it cites ("AR-07", "AR-*").
std::vector<CaseInfo> filter_cases(const std::vector<CaseInfo>& cases, const std::string& filter);

}  // namespace sockspec
