// libFuzzer target: the case language's parser against any bytes at all, guided by coverage.
// Whatever the input, parse_script() must either return a script or throw ScriptError whose
// message is one line, "fuzz.case:LINE:COLUMN: error: ..." — the promise `sockspec script`
// makes to a user with a malformed file. Anything else (another exception, a message of
// another shape, a crash, a sanitizer report, a hang) is a finding. Built by ci/fuzz with
// clang, AddressSanitizer and UndefinedBehaviorSanitizer; seeded with cases/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "script/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::regex one_line_error(R"(^fuzz\.case:\d+:\d+: error: [^\n]+$)");
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    sockspec::script::parse_script("fuzz.case", text);
  } catch (const sockspec::script::ScriptError& e) {
    if (!std::regex_match(std::string(e.what()), one_line_error)) {
      std::fprintf(stderr, "a parse error not in the one-line form: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
