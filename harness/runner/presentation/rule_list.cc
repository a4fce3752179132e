#include "runner/presentation/rule_list.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "runner/runner_error.h"

namespace sockspec {

namespace {

// "Kinds/EagainTest.RecvOnEmpty/stream_socketpair" -> "EagainTest.RecvOnEmpty" and "kinds";
// a scripted case or a plain TEST_F is its own rule.
struct RuleKey {
  std::string name;
  std::string instance_word;
};

RuleKey rule_key(const CaseInfo& c) {
  if (c.scripted()) return {c.name, ""};
  std::string suite = c.suite_part(), test = c.test_part();
  std::string word;
  if (const auto slash = suite.find('/'); slash != std::string::npos) {
    word = suite.substr(0, slash);
    std::transform(word.begin(), word.end(), word.begin(), ::tolower);
    suite.erase(0, slash + 1);
  }
  if (const auto slash = test.find('/'); slash != std::string::npos) test.erase(slash);
  return {suite + "." + test, word};
}

// What a "See also" entry names, as a rule name: a GoogleTest rule is named as it is
// ("EagainTest.RecvOnEmpty"); a scripted case by its file ("cases/04-nonblocking/01-x.case"
// is "script/04-nonblocking/01-x").
std::string referenced_rule(const std::string& reference) {
  static const std::regex script("^cases/(.*)\\.case$");
  std::smatch m;
  if (std::regex_match(reference, m, script)) return "script/" + m[1].str();
  return reference;
}

std::string shown_file(const CaseInfo& c, const std::filesystem::path& source_dir) {
  std::filesystem::path file = c.file;
  if (file.is_absolute()) {
    const auto relative = file.lexically_relative(source_dir);
    if (!relative.empty() && !relative.string().starts_with("..")) file = relative;
  }
  return c.scripted() ? file.string() : fmt::format("{}:{}", file.string(), c.line);
}

}  // namespace

std::vector<RuleEntry> collapse_to_rules(const std::vector<CaseInfo>& cases) {
  std::vector<RuleEntry> rules;
  std::map<std::string, std::size_t> index;
  std::map<std::string, std::size_t> counts;
  std::map<std::string, std::string> words;
  for (const auto& c : cases) {
    const RuleKey key = rule_key(c);
    if (!index.contains(key.name)) {
      index[key.name] = rules.size();
      rules.push_back({.name = key.name, .instances = "", .first = &c});
    }
    ++counts[key.name];
    words[key.name] = key.instance_word.empty() ? "instances" : key.instance_word;
  }
  for (auto& rule : rules)
    if (counts[rule.name] > 1)
      rule.instances = fmt::format("{} {}", counts[rule.name], words[rule.name]);
  return rules;
}

std::vector<CatalogueRow> catalogue_rows(const std::filesystem::path& catalogue) {
  std::ifstream in(catalogue);
  if (!in)
    throw RunnerError(
        fmt::format("the catalogue {} is missing; it lives in cases/ of the source "
                    "tree (point --cases at that folder)",
                    catalogue.string()));
  static const std::regex row("^\\| ([A-Z]{2}-[0-9]{2}) \\|");
  std::vector<CatalogueRow> rows;
  std::smatch m;
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, m, row))
      rows.push_back({m[1], line.find("*out of scope:*") == std::string::npos});
  return rows;
}

void check_rule_references(const std::vector<CaseInfo>& all, const std::vector<CatalogueRow>& rows,
                           const std::filesystem::path& catalogue) {
  std::set<std::string> known_rows;
  for (const auto& row : rows) known_rows.insert(row.id);
  std::set<std::string> names;
  std::map<std::string, std::set<std::string>> twins;  // rule -> the rules it names
  for (const auto& rule : collapse_to_rules(all)) {
    names.insert(rule.name);
    for (const auto& row : rule.first->catalogue)
      if (!known_rows.contains(row))
        throw RunnerError(fmt::format("{} cites catalogue row {}, which {} does not have",
                                      rule.name, row, catalogue.string()));
    for (const auto& other : rule.first->see_also) twins[rule.name].insert(referenced_rule(other));
  }
  for (const auto& [rule, others] : twins)
    for (const auto& other : others) {
      if (!names.contains(other))
        throw RunnerError(fmt::format(
            "{} says \"See also: {}\", but there is no such rule; name a GoogleTest rule as "
            "Suite.Test and a scripted case by its file (cases/NN-chapter/MM-name.case)",
            rule, other));
      if (!twins[other].contains(rule))
        throw RunnerError(
            fmt::format("{} names {} as its twin, but {} does not name it back (See also)", rule,
                        other, other));
    }
}

void print_rules(std::FILE* out, const std::vector<CaseInfo>& shown, std::size_t in_scope,
                 const std::filesystem::path& source_dir) {
  std::set<std::string> cited;
  std::size_t scripted = 0, uncited = 0;
  const auto rules = collapse_to_rules(shown);
  for (const auto& rule : rules) {
    const CaseInfo& c = *rule.first;
    scripted += c.scripted();
    uncited += c.catalogue.empty();
    cited.insert(c.catalogue.begin(), c.catalogue.end());
    fmt::print(out, "{}{}\n", rule.name, rule.instances.empty() ? "" : " × " + rule.instances);
    fmt::print(out, "    rule: {}\n", c.rule.empty() ? "(none stated)" : c.rule);
    if (!c.citation.empty())
      fmt::print(out, "    documented in: {}{}\n", c.citation,
                 c.linux_note.empty() ? "" : " (" + c.linux_note + ")");
    fmt::print(out, "    catalogue: {}\n",
               c.catalogue.empty() ? "(no row: beyond the catalogue)"
                                   : fmt::format("{}", fmt::join(c.catalogue, ", ")));
    fmt::print(out, "    file: {}\n", shown_file(c, source_dir));
    if (!c.see_also.empty()) fmt::print(out, "    see also: {}\n", fmt::join(c.see_also, ", "));
  }
  fmt::print(out, "\n{} rules ({} GoogleTest, {} scripted) from {} cases", rules.size(),
             rules.size() - scripted, scripted, shown.size());
  if (in_scope > 0)
    fmt::print(out, "; they cite {} of the catalogue's {} rows in scope", cited.size(), in_scope);
  if (uncited > 0) fmt::print(out, "; {} show behaviours beyond it", uncited);
  fmt::print(out, "\n");
}

}  // namespace sockspec
