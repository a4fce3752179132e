#include "script/model_script.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "case/case.h"
#include "os/case_error.h"
#include "protocol/case_protocol.h"
#include "script/interpreter.h"
#include "script/parser.h"

namespace sockspec {
namespace {

// Calls and their results line up in one column, as in the hand-written cases.
constexpr std::size_t kResultColumn = 52;

// The file name the interpreter reports lines of; the counterexample gets the same name.
constexpr std::string_view kScriptName = "model.case";

}  // namespace

ModelScript::ModelScript(std::string rule, std::string source)
    : rule_(std::move(rule)), source_(std::move(source)) {}

void ModelScript::add(std::string_view actor, std::string_view call, std::string_view expected,
                      std::string_view why) {
  std::string line = fmt::format("{}: {}", actor, call);
  if (!expected.empty()) {
    if (line.size() < kResultColumn) line.resize(kResultColumn, ' ');
    line += fmt::format(" {}", expected);
  }
  if (!why.empty()) line += fmt::format("   # {}", why);
  lines_.push_back({std::move(line), std::string(why)});
}

void ModelScript::require(std::string feature) {
  if (std::find(requires_.begin(), requires_.end(), feature) == requires_.end())
    requires_.push_back(std::move(feature));
}

std::string ModelScript::text(std::string_view headline) const {
  std::string out =
      fmt::format("# {}\n# Source: {}\n", headline.empty() ? rule_ : headline, source_);
  if (!requires_.empty()) out += fmt::format("# REQUIRES: {}\n", fmt::join(requires_, ", "));
  out += "#\n";
  for (const Line& line : lines_) out += line.text + "\n";
  return out;
}

std::string ModelScript::why_at(int line) const {
  const int index = line - header_lines() - 1;
  if (index < 0 || index >= static_cast<int>(lines_.size())) return {};
  return lines_[static_cast<std::size_t>(index)].why;
}

ModelVerdict run_model_script(const ModelScript& script) {
  std::ostringstream out;
  ModelVerdict verdict;
  try {
    const int status =
        script::interpret(script::parse_script(std::string(kScriptName), script.text()), out);
    verdict.passed = status == script::kScriptPassed;
  } catch (const std::exception& e) {  // a script the model wrote wrong is the model's fault
    throw CaseError(fmt::format("the model wrote a script the interpreter refused: {}\n{}",
                                e.what(), script.text()));
  }
  verdict.report = out.str();
  std::smatch where;
  const std::regex line_number(std::string(kScriptName) + ":([0-9]+):");
  if (std::regex_search(verdict.report, where, line_number))
    verdict.failed_line = std::stoi(where[1].str());
  return verdict;
}

std::filesystem::path write_counterexample(const ModelScript& script, const ModelVerdict& verdict,
                                           std::string_view file_stem) {
  std::filesystem::path dir = protocol::variable(protocol::kCounterexampleDirVariable);
  if (dir.empty()) dir = Case::current().started_in() / "counterexamples";
  std::filesystem::create_directories(dir);
  const auto path = dir / fmt::format("{}.case", file_stem);
  const std::string why = script.why_at(verdict.failed_line);
  const std::string headline =
      why.empty() ? std::string()
                  : fmt::format("The model's rule for line {}: {}", verdict.failed_line, why);
  std::ofstream file(path);
  file << script.text(headline);
  if (!file)
    throw CaseError(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  return path;
}

}  // namespace sockspec
