// The bridge between a model-based property (suite/model_*_test.cc) and the implementation.
//
// A model generates calls and predicts what each returns; it writes them, with its
// predictions as the expected results, as a scripted case in the case language. The
// interpreter then runs that script as it runs any other: forked actor processes making the
// calls through the C library, every "blocks" seen in /proc, never guessed. So a model checks
// the implementation exactly as a hand-written case would, and when it fails, the shrunk
// sequence is already a .case file a person can read and `sockspec script` can run again.
//
//   ModelScript script("a random exchange ... follows the model", "unix(7); ...");
//   script.add("a", "send(s, \"xy\", 0)", "= 2", "a live peer takes the bytes");
//   const ModelVerdict verdict = run_model_script(script);
//   if (!verdict.passed) ... write_counterexample(script, verdict) ...
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sockspec {

class ModelScript {
 public:
  // `rule` and `source` become the header's first two lines.
  ModelScript(std::string rule, std::string source);

  // Actors and set-up: a line the model makes no prediction about beyond the call working.
  void add(std::string_view actor, std::string_view call, std::string_view expected = {},
           std::string_view why = {});

  // A feature of `sockspec features` the script needs, for its REQUIRES line.
  void require(std::string feature);

  // The .case text. `headline`, when given, replaces the rule on the first line (a
  // counterexample names the rule of the step that failed).
  std::string text(std::string_view headline = {}) const;
  // Why the model predicted what line `line` (1-based, of text()) expects, or "".
  std::string why_at(int line) const;
  std::size_t size() const { return lines_.size(); }

 private:
  struct Line {
    std::string text;
    std::string why;
  };
  int header_lines() const { return requires_.empty() ? 3 : 4; }

  std::string rule_;
  std::string source_;
  std::vector<std::string> requires_;
  std::vector<Line> lines_;
};

// What the implementation did with a model's script.
struct ModelVerdict {
  bool passed = false;
  std::string report;   // the interpreter's account of the first line that went otherwise
  int failed_line = 0;  // that line (1-based, of the script's text), 0 when unknown
};

// Runs the script in the current case (its dir, its deadline), as `sockspec script` would.
ModelVerdict run_model_script(const ModelScript& script);

// Writes the failing script as a case whose header names the rule of the line that failed,
// to SOCKSPEC_COUNTEREXAMPLE_DIR (the runner sets REPORT/counterexamples), or else to the
// directory the case was started from; returns the file's path.
std::filesystem::path write_counterexample(const ModelScript& script, const ModelVerdict& verdict,
                                           std::string_view file_stem);

}  // namespace sockspec
