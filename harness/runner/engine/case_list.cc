#include "runner/engine/case_list.h"

#include <fnmatch.h>
#include <sys/wait.h>
#include <algorithm>

#include <cstdio>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runner/runner_error.h"
#include "script/parser.h"

namespace sockspec {

namespace {

std::string capture_output(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw RunnerError(fmt::format("cannot run {}", command));
  std::string out;
  char buffer[4096];
  while (const std::size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0)
    throw RunnerError(
        fmt::format("{} failed (status {}); rebuild with `ci/bootstrap`", command, status));
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& name) {
  for (const auto& p : patterns)
    if (::fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

}  // namespace

std::vector<CaseInfo> discover_cases(const std::filesystem::path& suite) {
  if (!std::filesystem::exists(suite))
    throw RunnerError(
        fmt::format("case binary {} not found; build it with `ci/bootstrap`", suite.string()));
  std::vector<CaseInfo> cases;
  std::stringstream lines(capture_output(fmt::format("'{}' --sockspec-list", suite.string())));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      cases.push_back({j.at("name"), j.value("rule", ""), j.value("citation", ""),
                       j.value("linux", ""), j.value("file", ""), j.value("line", 0), ""});
    } catch (const nlohmann::json::exception& e) {
      throw RunnerError(fmt::format("{} --sockspec-list printed a line that is not a case: {}",
                                    suite.string(), line));
    }
  }
  return cases;
}

std::vector<CaseInfo> discover_scripts(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".case")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<CaseInfo> cases;
  for (const auto& file : files) {
    script::Script parsed;
    try {
      parsed = script::parse_script_file(file.string());
    } catch (const script::ScriptError& e) {
      throw RunnerError(e.what());
    }
    std::string name =
        "script/" + std::filesystem::relative(file, dir).replace_extension().string();
    cases.push_back(
        {name, parsed.rule, parsed.source, parsed.linux_note, file.string(), 1, file.string()});
  }
  return cases;
}

std::vector<CaseInfo> filter_cases(const std::vector<CaseInfo>& cases, const std::string& filter) {
  // The negative patterns start at a '-' that begins a pattern: at the very start or right
  // after a ':'. GoogleTest takes any '-', but scripted cases have dashes in their names
  // ("script/03-stream/01-listen-connect-accept").
  const auto dash = filter.starts_with('-') ? 0 : filter.find(":-");
  const auto negative_from = dash == std::string::npos ? dash : filter.find('-', dash) + 1;
  const auto positive = split(filter.substr(0, dash), ':');
  auto negative = negative_from == std::string::npos ? std::vector<std::string>{}
                                                     : split(filter.substr(negative_from), ':');
  for (auto& pattern : negative)  // "-A:-B" reads as two negative patterns
    if (pattern.starts_with('-')) pattern.erase(0, 1);
  std::vector<CaseInfo> kept;
  for (const auto& c : cases)
    if ((positive.empty() || matches_any(positive, c.name)) && !matches_any(negative, c.name))
      kept.push_back(c);
  return kept;
}

}  // namespace sockspec
