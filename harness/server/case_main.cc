// main() of every case binary. Besides GoogleTest's own flags it understands
//   --sockspec-list   print every case as one JSON object a line (name, rule, citation,
//                     Linux note, whether it is a property), for the runner's discovery;
// and after a failed case it prints the rule that case checks.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>

#include <nlohmann/json.hpp>

#include "case/rule.h"

namespace {

class PrintRuleOnFailure : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!info.result()->Failed()) return;
    if (const auto* rule = sockspec::find_rule(info.test_suite_name(), info.name())) {
      std::cout << "  rule: " << rule->text << "\n  documented in: " << rule->citation;
      if (!rule->linux_note.empty()) std::cout << " (" << rule->linux_note << ")";
      std::cout << "\n";
    }
  }
};

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
      }
      std::cout << line.dump() << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--sockspec-list") == 0) return list_cases();
  ::testing::UnitTest::GetInstance()->listeners().Append(new PrintRuleOnFailure);
  return RUN_ALL_TESTS();
}
