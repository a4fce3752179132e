// main() of every case program (sockspec-suite, sockspec-examples). Besides GoogleTest's own
// flags it understands
//   --sockspec-list        every case as one JSON object a line (name, rule, citation, Linux
//                          note, catalogue rows, twins, file, line), for the runner's
//                          discovery;
//   --sockspec-serve       be a case server for the runner (case_server.h);
//   --sockspec-case FILE   run the one case FILE describes in this process (a traced re-run).
// Without them it is a plain GoogleTest program.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>

#include <nlohmann/json.hpp>

#include "case/rule.h"
#include "os/files.h"
#include "protocol/case_protocol.h"
#include "server/case_entry.h"
#include "server/case_faults.h"
#include "server/case_server.h"

namespace {

int list_cases() {
  const auto* unit = ::testing::UnitTest::GetInstance();
  for (int i = 0; i < unit->total_test_suite_count(); ++i) {
    const auto* suite = unit->GetTestSuite(i);
    for (int j = 0; j < suite->total_test_count(); ++j) {
      const auto* test = suite->GetTestInfo(j);
      nlohmann::json line = {{"name", std::string(suite->name()) + "." + test->name()},
                             {"file", test->file()},
                             {"line", test->line()}};
      if (const auto* rule = sockspec::find_rule(suite->name(), test->name())) {
        line["rule"] = rule->text;
        line["citation"] = rule->citation;
        line["linux"] = rule->linux_note;
        line["catalogue"] = rule->catalogue;
        line["see_also"] = rule->see_also;
      }
      std::cout << line.dump() << "\n";
    }
  }
  return 0;
}

int run_one_case(const char* request_file) {
  const std::string text = sockspec::read_file(request_file);
  if (text.empty()) {
    std::cerr << "--sockspec-case " << request_file << ": no such request file\n";
    return 2;
  }
  sockspec::run_case(sockspec::protocol::request_from_json(text));
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--sockspec-list") == 0) return list_cases();
    if (std::strcmp(argv[i], "--sockspec-serve") == 0) return sockspec::serve_cases();
    if (std::strcmp(argv[i], "--sockspec-case") == 0 && i + 1 < argc)
      return run_one_case(argv[i + 1]);
  }
  // A plain GoogleTest run makes the faults a reproducer of `sockspec faults` asks for.
  ::testing::UnitTest::GetInstance()->listeners().Append(new sockspec::CaseFaults);
  return RUN_ALL_TESTS();
}
