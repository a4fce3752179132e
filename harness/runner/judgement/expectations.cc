#include "runner/judgement/expectations.h"

#include <fnmatch.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "runner/runner_error.h"

namespace sockspec {

namespace {

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

void check_complete(const Expectation& e) {
  for (const auto& [field, value] : {std::pair{"version", &e.version}, {"observed", &e.observed}})
    if (value->empty())
      throw RunnerError(
          fmt::format("{}: the entry has no '{}:' line; every entry needs case, "
                      "version, observed and match",
                      e.where, field));
  if (e.case_patterns.empty())
    throw RunnerError(
        fmt::format("{}: the entry has no 'case:' line; name the case it is about", e.where));
  if (e.match.empty())
    throw RunnerError(
        fmt::format("{}: the entry has no 'match:' line; say what text its "
                    "failure message contains",
                    e.where));
}

// Reads `file`, whose includes have been followed from the tables in `including` (outermost
// first): a table that includes itself, at any depth, is an error rather than a recursion
// without end.
std::vector<Expectation> load_table(const std::filesystem::path& file,
                                    std::vector<std::filesystem::path>& including) {
  std::vector<Expectation> table;
  std::ifstream in(file);
  if (!in) return table;
  std::optional<Expectation> entry;
  auto finish = [&] {
    if (!entry) return;
    check_complete(*entry);
    table.push_back(std::move(*entry));
    entry.reset();
  };
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (trim(line).empty()) {
      finish();
      continue;
    }
    if (trim(line).starts_with("#")) continue;
    const auto colon = line.find(':');
    const std::string where = fmt::format("{}:{}", file.string(), number);
    if (colon == std::string::npos)
      throw RunnerError(
          fmt::format("{}: expected 'key: value' (keys: case, version, observed, "
                      "match, bug, reproducer, intermittent)",
                      where));
    const std::string key = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (key == "include" && !entry) {
      // Another table's entries hold here too (proot-bind has every divergence of proot).
      const auto included = file.parent_path() / value;
      if (!std::filesystem::exists(included))
        throw RunnerError(fmt::format("{}: include: {} does not exist", where, included.string()));
      if (!std::filesystem::is_regular_file(included))
        throw RunnerError(
            fmt::format("{}: include: {} is not a regular file", where, included.string()));
      including.push_back(std::filesystem::weakly_canonical(file));
      const auto target = std::filesystem::weakly_canonical(included);
      if (std::find(including.begin(), including.end(), target) != including.end())
        throw RunnerError(
            fmt::format("{}: include: {} includes itself; drop one of the "
                        "include lines",
                        where, included.string()));
      for (auto& e : load_table(included, including)) table.push_back(std::move(e));
      including.pop_back();
      continue;
    }
    if (!entry) {
      entry.emplace();
      entry->where = where;
    }
    if (key == "case")
      entry->case_patterns.push_back(value);
    else if (key == "version")
      entry->version = value;
    else if (key == "observed")
      entry->observed += (entry->observed.empty() ? "" : " ") + value;
    else if (key == "match")
      entry->match.push_back(value);
    else if (key == "bug")
      entry->bug = value;
    else if (key == "reproducer")
      entry->reproducer = value;
    else if (key == "intermittent" && (value == "yes" || value == "no"))
      entry->intermittent = value == "yes";
    else if (key == "intermittent")
      throw RunnerError(fmt::format("{}: intermittent is yes or no, not '{}'", where, value));
    else
      throw RunnerError(
          fmt::format("{}: unknown key '{}'; the keys are case, version, observed, "
                      "match, bug, reproducer and intermittent",
                      where, key));
  }
  finish();
  return table;
}

}  // namespace

std::vector<Expectation> load_expectations(const std::filesystem::path& file) {
  std::vector<std::filesystem::path> including;
  return load_table(file, including);
}

const Expectation* listed_in(const std::vector<Expectation>& table, const std::string& name) {
  const Expectation* listed = nullptr;
  for (const auto& e : table)
    for (const auto& pattern : e.case_patterns)
      if (::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) listed = &e;
  return listed;
}

void apply_expectations(const std::vector<Expectation>& table, CaseResult& result) {
  const Expectation* listed = listed_in(table, result.info.name);
  if (!listed) return;
  const std::string said =
      fmt::format("{} ({}; {}{})", listed->observed, listed->version, listed->where,
                  listed->bug.empty() ? "" : "; " + listed->bug);
  // A race that the target loses only now and then: a pass says nothing.
  if (result.status == Status::kPassed && listed->intermittent) return;
  if (result.status == Status::kPassed) {
    result.status = Status::kUnexpectedPass;
    result.message = fmt::format(
        "listed as an expected failure, but passed: remove the entry at {} if the target is "
        "fixed; it said: {}",
        listed->where, said);
    return;
  }
  if (result.status != Status::kFailed && result.status != Status::kHung) return;
  for (const auto& text : listed->match)
    if (result.message.find(text) == std::string::npos) {
      result.message += fmt::format(
          "\nthis case is listed as an expected failure at {}, but it failed another way: its "
          "message lacks \"{}\"",
          listed->where, text);
      return;
    }
  result.status = Status::kExpectedFailure;
  result.expected = said;
}

}  // namespace sockspec
