// `sockspec list --rules`: one entry per rule rather than per case. A GoogleTest rule runs as
// many instances ("Kinds/EagainTest.RecvOnEmpty/stream_socketpair" for 36 kinds); a scripted
// case is one rule. Each entry shows the catalogue rows the rule cites, its file, its twin in
// the other form, and the list ends with how many catalogue rows the rules cite.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "runner/run_model.h"

namespace sockspec {

struct RuleEntry {
  std::string name;       // "EagainTest.RecvOnEmpty", "script/03-stream/01-listen-connect-accept"
  std::string instances;  // "36 kinds", "3 types", "" for one
  const CaseInfo* first;  // the rule's text, citation, rows, twins and file
};

// The rules of `cases`, in the order their first case comes.
std::vector<RuleEntry> collapse_to_rules(const std::vector<CaseInfo>& cases);

// The rows of a catalogue file (cases/CATALOGUE.md: "| AR-07 | ... |" table rows); a row
// marked "*out of scope:*" keeps its ID but is no behaviour of Linux AF_UNIX sockets.
struct CatalogueRow {
  std::string id;
  bool in_scope;
};
std::vector<CatalogueRow> catalogue_rows(const std::filesystem::path& catalogue);

// Checks what rules say of each other and of the catalogue, over every case: each cited row is
// in `rows`, each twin named in "See also" exists and names this rule back. A RunnerError
// (exit 2) names the first rule that breaks one.
void check_rule_references(const std::vector<CaseInfo>& all, const std::vector<CatalogueRow>& rows,
                           const std::filesystem::path& catalogue);

// Prints `shown` one rule an entry, then the count of rules and of the catalogue rows in
// scope (`in_scope`, 0 when there is no catalogue) that they cite.
void print_rules(std::FILE* out, const std::vector<CaseInfo>& shown, std::size_t in_scope,
                 const std::filesystem::path& source_dir);

}  // namespace sockspec
