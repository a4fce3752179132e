// Every case states the rule it checks and where that rule is documented.
//
//   SOCKSPEC_RULE(EagainTest, RecvOnEmptySocket,
//                 "recv() with MSG_DONTWAIT on an empty socket fails with EAGAIN",
//                 "recv(2) ERRORS: EAGAIN; MSG_DONTWAIT in recv(2)",
//                 "MSG_DONTWAIT since Linux 2.2");
//   TEST_P(EagainTest, RecvOnEmptySocket) { ... }
//
// The registry lets `sockspec list` show the rule without running the case, and puts the
// rule under every failure of the case.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sockspec {

struct Rule {
  std::string suite;       // GoogleTest suite, without instantiation prefix ("EagainTest")
  std::string name;        // GoogleTest test name, without parameter suffix
  std::string text;        // the rule, one sentence
  std::string citation;    // man page and section, POSIX, or the kernel function that decides it
  std::string linux_note;  // the Linux version where it appeared or changed ("" if none)
};

bool register_rule(Rule rule);
// The rule for a GoogleTest full name such as
// "Kinds/EagainTest.RecvOnEmptySocket/stream_socketpair".
const Rule* find_rule(std::string_view suite, std::string_view name);
const std::vector<Rule>& all_rules();

}  // namespace sockspec

#define SOCKSPEC_RULE(Suite, Name, text, citation, linux_note)        \
  [[maybe_unused]] static const bool sockspec_rule_##Suite##_##Name = \
      ::sockspec::register_rule({#Suite, #Name, text, citation, linux_note})
