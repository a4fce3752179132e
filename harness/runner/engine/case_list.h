// Finding the cases: the case binary lists itself (--sockspec-list), with each case's rule.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace sockspec {

struct CaseInfo {
  std::string name;  // GoogleTest full name, "Kinds/EagainTest.RecvOnEmpty/stream_socketpair"
  std::string rule;
  std::string citation;
  std::string linux_note;
  std::string file;
  int line = 0;
  std::string script;  // a scripted case: the path of its file (empty for a GoogleTest case)

  // "Kinds/EagainTest" and "RecvOnEmpty/stream_socketpair"
  std::string suite_part() const { return name.substr(0, name.find('.')); }
  std::string test_part() const { return name.substr(name.find('.') + 1); }
};

// Runs `suite --sockspec-list`. RunnerError when the binary is missing or says nonsense.
std::vector<CaseInfo> discover_cases(const std::filesystem::path& suite);

// The scripted cases under `dir` (every *.case, in path order), named "script/<path>"
// after their path below `dir`, with the rule and citation from their header. A malformed
// script is a RunnerError naming file:line:column.
std::vector<CaseInfo> discover_scripts(const std::filesystem::path& dir);

// "POS1:POS2:-NEG1:NEG2", each a glob with * and ?: GoogleTest's filter syntax, except that
// the negative part starts only at a '-' that begins a pattern (case names have dashes).
std::vector<CaseInfo> filter_cases(const std::vector<CaseInfo>& cases, const std::string& filter);

}  // namespace sockspec
