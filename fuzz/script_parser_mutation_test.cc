// The case language's parser against malformed input: every teaching case in cases/ (the
// chapters with the environment's actions, struct values and iovecs among them),
// mutated at random (characters deleted, inserted, replaced, lines cut or repeated), must
// either parse or be rejected with one line "file:line:column: error: ..." — never a crash,
// a hang, or any other exception. rapidcheck shrinks a failure to a small mutation.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "script/parser.h"

namespace sockspec::script {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> texts;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(SOCKSPEC_CASES_DIR))
    if (entry.path().extension() == ".case") {
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      texts.push_back(text.str());
    }
  std::sort(texts.begin(), texts.end());
  return texts;
}

// One edit of a script, chosen from characters that matter to the language.
struct Edit {
  enum class Kind { kDelete, kInsert, kReplace, kCutLine, kRepeatLine } kind;
  std::size_t at;  // taken modulo the text's length
  char character;
};

// How rapidcheck shows an edit in a counterexample: "insert '\"' at 131".
void showValue(const Edit& edit, std::ostream& os) {
  static const char* const kNames[] = {"delete", "insert", "replace", "cut line", "repeat line"};
  os << kNames[static_cast<int>(edit.kind)] << " at " << edit.at;
  if (edit.kind == Edit::Kind::kInsert || edit.kind == Edit::Kind::kReplace)
    os << " with byte " << static_cast<int>(static_cast<unsigned char>(edit.character));
}

std::string apply(std::string text, const Edit& edit) {
  if (text.empty()) return text;
  const std::size_t at = edit.at % text.size();
  switch (edit.kind) {
    case Edit::Kind::kDelete:
      text.erase(at, 1);
      break;
    case Edit::Kind::kInsert:
      text.insert(at, 1, edit.character);
      break;
    case Edit::Kind::kReplace:
      text[at] = edit.character;
      break;
    case Edit::Kind::kCutLine: {
      const auto start = text.rfind('\n', at);
      const auto end = text.find('\n', at);
      text.erase(start == std::string::npos ? 0 : start,
                 end == std::string::npos ? std::string::npos : end - start);
      break;
    }
    case Edit::Kind::kRepeatLine: {
      const auto start = text.rfind('\n', at);
      const auto end = text.find('\n', at);
      const std::size_t from = start == std::string::npos ? 0 : start;
      text.insert(from,
                  text.substr(from, end == std::string::npos ? std::string::npos : end - from));
      break;
    }
  }
  return text;
}

rc::Gen<Edit> gen_edit() {
  // The language's punctuation, including the second edition's: actions ("<- SIGUSR1",
  // "limit RLIMIT_NOFILE +2"), struct values ("{sec=0 usec=1}"), iovecs ("[1, 2]").
  static const std::string kCharacters = "\"\\@()=,.:|*/#- \nx0SOCK_a\t\x01\xff<{}+[]";
  return rc::gen::build<Edit>(
      rc::gen::set(&Edit::kind,
                   rc::gen::element(Edit::Kind::kDelete, Edit::Kind::kInsert, Edit::Kind::kReplace,
                                    Edit::Kind::kCutLine, Edit::Kind::kRepeatLine)),
      rc::gen::set(&Edit::at, rc::gen::inRange<std::size_t>(0, 4096)),
      rc::gen::set(&Edit::character, rc::gen::elementOf(kCharacters)));
}

TEST(ScriptParserMutation, MalformedScriptsAreRejectedWithOneLineAndAPosition) {
  static const std::vector<std::string> texts = corpus();
  ASSERT_FALSE(texts.empty()) << "no .case files under " << SOCKSPEC_CASES_DIR;
  static const std::regex one_line_error(R"(^mutated\.case:\d+:\d+: error: [^\n]+$)");
  rc::detail::checkGTest([] {
    std::string text = *rc::gen::elementOf(texts);
    const auto edits = *rc::gen::container<std::vector<Edit>>(gen_edit());
    for (const auto& edit : edits) text = apply(std::move(text), edit);
    try {
      parse_script("mutated.case", text);
    } catch (const ScriptError& e) {
      RC_ASSERT(std::regex_match(std::string(e.what()), one_line_error));
    }
  });
}

}  // namespace
}  // namespace sockspec::script
