// Expectation tables: the known divergences of a target from Linux, as data a person edits
// (ci/expectations/TARGET.txt). A case listed there that fails the way the entry says is an
// expected failure (xfail); one that passes is an unexpected pass (xpass, which fails the
// run until the entry is removed); one that fails some other way is a failure.
//
// The file is blocks of "key: value" lines separated by blank lines; '#' starts a comment.
// A line "include: OTHER.txt" outside a block takes in the entries of another table.
//
//   case:       Types/BindInvalidTest.SecondPathnameBind/*     (a name, or a glob: * ?;
//   case:       script/02-addresses/01-bind-gives-a-pathname    several lines for several)
//   version:    proot 5.1.0                                   (where it was seen)
//   observed:   getsockname() returns the host's absolute path, not the name bound
//   match:      Which is: 136-byte object <01-00 2F             (text the failure contains)
//   bug:        https://github.com/proot-me/proot/issues/NNN  (optional)
//   reproducer: cases/12-targets/proot-getsockname.case        (optional)
//   intermittent: yes                                         (optional: a race the target
//                                                              loses in some runs only, so a
//                                                              pass is not an unexpected one)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runner/run_model.h"

namespace sockspec {

struct Expectation {
  std::vector<std::string> case_patterns;
  std::string version;
  std::string observed;
  std::vector<std::string> match;  // every one must be in the failure message
  std::string bug;
  std::string reproducer;
  bool intermittent = false;
  std::string where;  // "ci/expectations/proot.txt:12", for messages
};

// Reads a table; RunnerError naming file:line for a malformed one. A missing file is an
// empty table.
std::vector<Expectation> load_expectations(const std::filesystem::path& file);

// The entry of `table` that lists the case `name` (the last that does), or nullptr.
const Expectation* listed_in(const std::vector<Expectation>& table, const std::string& name);

// Turns a passed, failed or hung result of a listed case into xpass, xfail or an explained
// failure.
void apply_expectations(const std::vector<Expectation>& table, CaseResult& result);

}  // namespace sockspec
