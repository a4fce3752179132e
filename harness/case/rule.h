// Every case states the rule it checks, where that rule is documented, and which rows of the
// catalogue (cases/CATALOGUE.md) it shows:
//
//   SOCKSPEC_RULE(EagainTest, RecvOnEmptySocket,
//                 .text = "recv() with MSG_DONTWAIT on an empty socket fails with EAGAIN",
//                 .citation = "recv(2) ERRORS: EAGAIN; MSG_DONTWAIT in recv(2)",
//                 .linux_note = "MSG_DONTWAIT since Linux 2.2",
//                 .catalogue = "NB-01",
//                 .see_also = "cases/04-nonblocking/01-msg-dontwait-on-an-empty-socket.case");
//   TEST_P(EagainTest, RecvOnEmptySocket) { ... }
//
// Only .text and .citation are required; the fields keep this order. `.see_also` names the
// case's twin in the other form (a scripted case's file), as the script names this rule
// ("# See also: EagainTest.RecvOnEmptySocket").
//
// The registry lets `sockspec list` show the rule without running the case, and puts the
// rule under every failure of the case.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sockspec {

struct RuleText {
  const char* text = "";        // the rule, one sentence
  const char* citation = "";    // man page and section, POSIX, or the kernel function
  const char* linux_note = "";  // the Linux version where it appeared or changed
  const char* catalogue = "";   // catalogue rows, comma-separated ("NB-01, NB-02")
  const char* see_also = "";    // twins in the other form, comma-separated
};

struct Rule {
  std::string suite;  // GoogleTest suite, without instantiation prefix ("EagainTest")
  std::string name;   // GoogleTest test name, without parameter suffix
  std::string text;
  std::string citation;
  std::string linux_note;  // "" if none
  std::vector<std::string> catalogue;
  std::vector<std::string> see_also;
};

bool register_rule(const char* suite, const char* name, const RuleText& text);
// The rule for a GoogleTest full name such as
// "Kinds/EagainTest.RecvOnEmptySocket/stream_socketpair".
const Rule* find_rule(std::string_view suite, std::string_view name);
const std::vector<Rule>& all_rules();

}  // namespace sockspec

#define SOCKSPEC_RULE(Suite, Name, ...)                               \
  [[maybe_unused]] static const bool sockspec_rule_##Suite##_##Name = \
      ::sockspec::register_rule(#Suite, #Name, ::sockspec::RuleText{__VA_ARGS__})
