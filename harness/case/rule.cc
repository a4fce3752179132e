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

// "NB-01, NB-02" -> {"NB-01", "NB-02"}
static std::vector<std::string> comma_list(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return items;
}

bool register_rule(const char* suite, const char* name, const RuleText& text) {
  registry().push_back({.suite = suite,
                        .name = name,
                        .text = text.text,
                        .citation = text.citation,
                        .linux_note = text.linux_note,
                        .catalogue = comma_list(text.catalogue),
                        .see_also = comma_list(text.see_also)});
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
