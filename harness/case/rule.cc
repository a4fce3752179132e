#include "case/rule.h"

namespace sockspec {

namespace {
std::vector<Rule>& registry() {
  static std::vector<Rule> rules;
  return rules;
}

// "Kinds/EagainTest" -> "EagainTest"; "RecvOnEmpty/stream_socketpair" -> "RecvOnEmpty"
std::string_view after_last_slash(std::string_view s) {
  const auto slash = s.rfind('/');
  return slash == std::string_view::npos ? s : s.substr(slash + 1);
}
std::string_view before_first_slash(std::string_view s) {
  return s.substr(0, s.find('/'));
}
}  // namespace

bool register_rule(Rule rule) {
  registry().push_back(std::move(rule));
  return true;
}

const Rule* find_rule(std::string_view suite, std::string_view name) {
  suite = after_last_slash(suite);
  name = before_first_slash(name);
  for (const auto& rule : registry())
    if (rule.suite == suite && rule.name == name) return &rule;
  return nullptr;
}

const std::vector<Rule>& all_rules() {
  return registry();
}

}  // namespace sockspec
