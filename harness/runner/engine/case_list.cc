#include "runner/engine/case_list.h"

#include <fnmatch.h>
#include <algorithm>

#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "os/spawn.h"
#include "runner/runner_error.h"
#include "script/parser.h"

namespace sockspec {

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

// A pattern selects a case by its name or by a catalogue row it cites ("BE-03", "BE-*").
bool matches_any(const std::vector<std::string>& patterns, const CaseInfo& c) {
  for (const auto& p : patterns) {
    if (::fnmatch(p.c_str(), c.name.c_str(), 0) == 0) return true;
    for (const auto& row : c.catalogue)
      if (::fnmatch(p.c_str(), row.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::vector<CaseInfo> discover_cases(const std::filesystem::path& suite) {
  if (!std::filesystem::exists(suite))
    throw RunnerError(
        fmt::format("case binary {} not found; build it with `ci/bootstrap`", suite.string()));
  const Captured listing =
      run_captured({suite.string(), "--sockspec-list"}, std::chrono::minutes(1));
  if (!listing.status || !listing.status->success())
    throw RunnerError(fmt::format("{} --sockspec-list {}; rebuild with `ci/bootstrap`",
                                  suite.string(),
                                  listing.status ? listing.status->describe() : "did not finish"));
  std::vector<CaseInfo> cases;
  std::stringstream lines(listing.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      cases.push_back({.name = j.at("name"),
                       .rule = j.value("rule", ""),
                       .citation = j.value("citation", ""),
                       .linux_note = j.value("linux", ""),
                       .catalogue = j.value("catalogue", std::vector<std::string>{}),
                       .see_also = j.value("see_also", std::vector<std::string>{}),
                       .file = j.value("file", ""),
                       .line = j.value("line", 0)});
    } catch (const nlohmann::json::exception& e) {
      throw RunnerError(fmt::format("{} --sockspec-list printed a line that is not a case: {}",
                                    suite.string(), line));
    }
  }
  return cases;
}

CaseInfo scripted_case(const std::filesystem::path& file, std::string name) {
  script::Script parsed;
  try {
    parsed = script::parse_script_file(file.string());
  } catch (const script::ScriptError& e) {
    throw RunnerError(e.what());
  }
  return {.name = std::move(name),
          .rule = parsed.rule,
          .citation = parsed.source,
          .linux_note = parsed.linux_note,
          .catalogue = parsed.catalogue,
          .see_also = parsed.see_also,
          .file = file.string(),
          .line = 1,
          .script = std::filesystem::absolute(file).string()};
}

std::vector<CaseInfo> discover_scripts(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".case")
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<CaseInfo> cases;
  for (const auto& file : files)
    cases.push_back(scripted_case(
        file, "script/" + std::filesystem::relative(file, dir).replace_extension().string()));
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
    if ((positive.empty() || matches_any(positive, c)) && !matches_any(negative, c))
      kept.push_back(c);
  return kept;
}

}  // namespace sockspec
