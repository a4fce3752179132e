// The shape every command of a model (suite/model_*_test.cc) shares, for rapidcheck's
// stateful testing (rc::state).
//
// A command predicts its result and changes the model in one function, perform(), so that
// the prediction and the change cannot disagree: rapidcheck's apply() calls it on the model,
// run() on a copy, and writes the lines it produced into the script. The script is the system
// under test only in the sense that the calls are collected there; they run when the whole
// sequence is written (script/model_script.h).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include "case/property.h"
#include "script/model_script.h"

namespace sockspec {

// One line of the script a command writes: `actor: call  expected   # why`.
struct ModelLine {
  std::string actor, call, expected, why;
};
using ModelLines = std::vector<ModelLine>;

// The script being written, and the model as the last command left it (for what the
// property adds at the end, such as waking a call still waiting).
template <typename Model>
struct ScriptUnderConstruction {
  ModelScript script;
  Model latest;

  void add(const ModelLines& lines) {
    for (const ModelLine& l : lines) script.add(l.actor, l.call, l.expected, l.why);
  }
};

template <typename Model>
class ScriptedCommand : public rc::state::Command<Model, ScriptUnderConstruction<Model>> {
 public:
  void apply(Model& m) const override {
    ModelLines ignored;
    perform(m, ignored);
  }
  void run(const Model& s0, ScriptUnderConstruction<Model>& sut) const override {
    Model m = s0;
    ModelLines lines;
    perform(m, lines);
    sut.add(lines);
    sut.latest = m;
  }
  void show(std::ostream& os) const override { os << describe(); }

 protected:
  virtual void perform(Model& m, ModelLines& out) const = 0;
  virtual std::string describe() const = 0;
};

// Runs the script the commands wrote; when a line does not give its prediction, writes the
// script as a counterexample case (`file_stem`.case) and fails the test with the
// interpreter's account and the file's name.
inline void check_model_script(const ModelScript& script, const std::string& file_stem) {
  const ModelVerdict verdict = run_model_script(script);
  if (verdict.passed) return;
  const auto path = write_counterexample(script, verdict, file_stem);
  property_failed() = true;
  RC_FAIL(verdict.report + "counterexample: " + path.string() + " (sockspec script " +
          path.string() + " replays it)");
}

}  // namespace sockspec
