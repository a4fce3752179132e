#include "differential.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace sockspec::fuzz {

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "recv(b1, 100, MSG_DONTWAIT) = -1 EAGAIN" -> the call and what it returned. A line that
// was not made, or that blocked or killed its actor, has no " = ".
std::pair<std::string, std::string> split_said(const std::string& said) {
  if (said.starts_with("not made: ")) return {"", said};
  for (const std::string_view between : {") = ", ") blocks", "): "}) {
    const std::size_t at = said.find(between);
    if (at == std::string::npos) continue;
    const std::size_t result = at + (between == ") blocks" ? 2 : between.size());
    return {said.substr(0, at + 1), said.substr(result)};
  }
  return {"", said};
}

// A result with the bytes and numbers left out: `3 "abc" from=none` -> `N BYTES from=none`.
std::string shape(const std::string& result) {
  static const std::regex bytes(
      R"re("(?:[^"\\]|\\.)*"(?:\s*\*\s*\d+)?(?:\s*\+\s*"(?:[^"\\]|\\.)*"(?:\s*\*\s*\d+)?)*)re");
  static const std::regex fd_name(R"(\b[ab]\d+\b)");
  static const std::regex number(R"((^|[^-\w])\d+\b)");  // -1, a failure, stays
  std::string out = std::regex_replace(result, bytes, "BYTES");
  out = std::regex_replace(out, fd_name, "FD");
  return std::regex_replace(out, number, "$1N");
}

// The call's name and the constants it was given: `send(a1, "x" * 3, MSG_DONTWAIT)` ->
// `send(MSG_DONTWAIT)`.
std::string call_constants(const std::string& call) {
  static const std::regex constant(R"(\b[A-Z][A-Z0-9_]+\b)");
  const std::size_t open = call.find('(');
  if (open == std::string::npos) return call;
  std::vector<std::string> found;
  const std::string arguments = call.substr(open);
  for (std::sregex_iterator it(arguments.begin(), arguments.end(), constant), end; it != end; ++it)
    found.push_back(it->str());
  return fmt::format("{}({})", call.substr(0, open), fmt::join(found, ","));
}

// A line of a program whose call binds names ("a: a1 = socket(...) = ?").
bool binds_names(const std::string& line) {
  static const std::regex binding(R"(^\w+: \w+(, \w+)? = )");
  return std::regex_search(line, binding);
}

// A result as the case language expects it, or "" where it cannot be written: a received
// fd is not named in a reproducer, so it is left out ("(1 fd(s) received)").
std::string as_expectation(const std::string& result) {
  if (result.starts_with("not made") || result == "blocks" || result.starts_with("the actor"))
    return "";
  static const std::regex received(R"( \(\d+ fd\(s\) received\)$)");
  return std::regex_replace(result, received, "");
}

// What is compared of a result: all of it, but for the number of an fd a call made, which
// is the lowest one free and so depends on the fds the implementation itself holds, and an
// autobound name, which the kernel picks: five hex digits, abstract (unix(7) "Autobind").
std::string comparable(const std::string& line, const std::string& said) {
  static const std::regex fd_number(R"(\) = \d+)");
  static const std::regex autobound(R"re(@"[0-9a-f]{5}")re");
  const std::string named = std::regex_replace(said, autobound, "@AUTOBOUND");
  return binds_names(line) ? std::regex_replace(named, fd_number, ") = FD") : named;
}

std::string without_observed(const std::string& line) {
  return line.substr(0, line.size() - std::string(" = ?").size());
}

}  // namespace

void ScriptRunner::start(const std::filesystem::path& case_file,
                         const std::filesystem::path& report_dir) {
  case_file_ = case_file;
  report_dir_ = report_dir;
  std::filesystem::remove_all(report_dir);
  std::filesystem::create_directories(report_dir);
  std::vector<std::string> args = {sockspec_.string(), "script",
                                   "--jobs",           "1",
                                   "--trace",          "never",
                                   "--timeout",        "10",
                                   "--report",         report_dir.string(),
                                   "--target",         target_};
  if (!preload_.empty()) args.insert(args.end(), {"--preload", preload_});
  args.push_back(case_file.string());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = (report_dir / "console.log").string();
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int err = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0)
    throw std::runtime_error(fmt::format("cannot run {}: {}", args[0], std::strerror(err)));
}

Observations ScriptRunner::finish() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  const std::string console = read_file(report_dir_ / "console.log");
  if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1))
    throw std::runtime_error(fmt::format("`sockspec script --target {} {}` exited {}: {}", target_,
                                         case_file_.string(), WEXITSTATUS(status), console));
  const auto report = nlohmann::json::parse(read_file(report_dir_ / "results.json"));
  const auto& result = report.at("cases").at(0);
  Observations seen;
  seen.status = result.at("status");
  seen.message = result.value("message", "");
  static const std::regex said(R"(^line (\d+): (.*)$)");
  std::istringstream output(result.value("output", std::string()));
  for (std::string line; std::getline(output, line);) {
    if (line.starts_with("--- ")) break;  // a re-run's copy
    std::smatch m;
    if (std::regex_match(line, m, said)) seen.said[std::stoi(m[1])] = m[2];
  }
  return seen;
}

std::string signature_of(const std::string& call, const std::string& native,
                         const std::string& other) {
  return fmt::format("{}: {} | {}", call_constants(call), shape(native), shape(other));
}

bool names_used_after(const CallProgram& program, std::size_t index) {
  static const std::regex binding(R"(^\w+: (\w+)(?:, (\w+))? = )");
  std::smatch bound;
  if (!std::regex_search(program.lines[index], bound, binding)) return false;
  for (std::size_t k = 1; k < bound.size(); ++k) {
    if (!bound[k].matched) continue;
    const std::regex use("\\b" + bound[k].str() + "\\b");
    for (std::size_t later = index + 1; later < program.lines.size(); ++later)
      if (std::regex_search(program.lines[later], use)) return true;
  }
  return false;
}

std::string behaviour_of(const std::string& said) {
  const auto [call, result] = split_said(said);
  return call_constants(call) + " = " + shape(result);
}

std::optional<Difference> first_difference(const CallProgram& program, const Observations& native,
                                           const Observations& other) {
  auto said = [](const Observations& o, int line) {
    const auto it = o.said.find(line);
    return it == o.said.end() ? std::string("(nothing recorded)") : it->second;
  };
  for (std::size_t i = 0; i < program.lines.size(); ++i) {
    const int line = program.file_line(i);
    const std::string mine = said(native, line);
    const std::string theirs = said(other, line);
    if (comparable(program.lines[i], mine) == comparable(program.lines[i], theirs)) continue;
    auto [call, native_result] = split_said(mine);
    auto [other_call, other_result] = split_said(theirs);
    if (call.empty()) call = other_call;
    Difference d{line, i, call, native_result, other_result, ""};
    d.signature = signature_of(call, native_result, other_result);
    return d;
  }
  if (native.status == other.status) return std::nullopt;
  // The same results, but one run broke a fault invariant, hung or failed at the end.
  Difference d{0,
               program.lines.size(),
               "(the end of the case)",
               native.status + (native.message.empty() ? "" : ": " + native.message),
               other.status + (other.message.empty() ? "" : ": " + other.message),
               ""};
  d.signature = fmt::format("end: {} | {}", native.status, other.status);
  return d;
}

std::string reproducer(const CallProgram& program, const Observations& native,
                       const Difference& difference, const std::string& target, bool strict) {
  std::vector<std::string> lines;
  const std::size_t through = std::min(difference.index + 1, program.lines.size());
  for (std::size_t i = 0; i < through; ++i) {
    const std::string& line = program.lines[i];
    const bool differing = i == difference.index;
    if (!strict && !differing) {
      lines.push_back(line);
      continue;
    }
    const auto it = native.said.find(program.file_line(i));
    if (it == native.said.end()) return "";
    const std::string expected = as_expectation(split_said(it->second).second);
    if (expected.empty()) return "";
    if (binds_names(line)) {
      if (expected.starts_with("-1 ")) {
        if (strict) return "";  // a later line uses the name the call did not bind
        lines.push_back(without_observed(line) + " = " + expected);
      } else {
        lines.push_back(without_observed(line));  // must succeed; the fd's number is not checked
      }
      continue;
    }
    lines.push_back(without_observed(line) + " = " + expected);
  }
  std::vector<std::string> header = {
      fmt::format("# On {}, `{}` returns {}; Linux returns {}.", target, difference.call,
                  difference.other, difference.native),
      fmt::format("# Source: {}; found by the differential fuzzer (fuzz/call_sequence_fuzzer.cc)",
                  difference.file_line == 0
                      ? "the fault invariants (README, \"Fault campaigns\")"
                      : difference.call.substr(0, difference.call.find('(')) + "(2) and unix(7)"),
  };
  // The signature, for fuzz/known-differences.txt once the difference is explained.
  header.push_back("# Difference: " + difference.signature);
  if (!strict) header.push_back("# Fault: none");
  header.push_back("");
  std::string text;
  for (const auto& line : header) text += line + "\n";
  for (const auto& line : lines) text += line + "\n";
  return text;
}

}  // namespace sockspec::fuzz
