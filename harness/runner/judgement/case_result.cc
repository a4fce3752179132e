#include "runner/judgement/case_result.h"

#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "os/names.h"
#include "script/interpreter.h"

namespace sockspec {

std::string status_name(Status status) {
  switch (status) {
    case Status::kPassed:
      return "passed";
    case Status::kFailed:
      return "failed";
    case Status::kSkipped:
      return "skipped";
    case Status::kExpectedFailure:
      return "xfail";
    case Status::kUnexpectedPass:
      return "xpass";
  }
  return "?";
}

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// GoogleTest prints the reason of GTEST_SKIP() after a line "Skipped" (the JSON has none).
std::string skip_reason(const std::string& output) {
  const auto at = output.find("Skipped\n");
  if (at == std::string::npos) return "skipped";
  std::string rest = output.substr(at + 8);
  const auto end = rest.find("\n[");
  rest = rest.substr(0, end);
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == ' ')) rest.pop_back();
  return rest.empty() ? "skipped" : rest;
}

std::string find_reproduce(const std::string& output) {
  static const std::regex pattern("reproduce=([A-Za-z0-9_+/=-]+)");
  std::smatch match;
  return std::regex_search(output, match, pattern) ? match[1].str() : "";
}

// A scripted case says how it went by its exit status; what it printed is the message.
CaseResult evaluate_script(CaseResult result, const CaseExit& exit) {
  std::string text = result.output;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  result.message = text;
  if (exit.exited && exit.exit_code == script::kScriptPassed) {
    result.status = Status::kPassed;
  } else if (exit.exited && exit.exit_code == script::kScriptSkipped) {
    result.status = Status::kSkipped;
    if (result.message.starts_with("skipped: ")) result.message.erase(0, 9);
  } else {
    result.status = Status::kFailed;
    if (!exit.exited)
      result.message += fmt::format("\nthe interpreter was killed by {}", signal_name(exit.signal));
  }
  return result;
}

}  // namespace

CaseResult evaluate(const CaseLaunch& launch, const CaseExit& exit) {
  CaseResult result;
  result.info = launch.info;
  result.seconds = exit.seconds;
  result.output = read_text(launch.output_log);

  if (exit.timed_out) {
    result.status = Status::kFailed;
    result.message = fmt::format(
        "the case did not finish within its deadline of {:.1f} s and was killed; "
        "its processes were:\n{}",
        std::chrono::duration<double>(launch.timeout).count(), exit.blocked_report);
    return result;
  }

  if (!launch.info.script.empty()) return evaluate_script(std::move(result), exit);

  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_text(launch.result_json));
  } catch (const nlohmann::json::exception&) {
    result.status = Status::kFailed;
    result.message =
        exit.exited ? fmt::format("the case process exited with status {} and wrote no result",
                                  exit.exit_code)
                    : fmt::format("the case process was killed by {}", signal_name(exit.signal));
    return result;
  }

  // One case per process: the result is the single test of the single suite.
  const nlohmann::json* test = nullptr;
  if (json.contains("testsuites"))
    for (const auto& suite : json["testsuites"])
      if (suite.contains("testsuite"))
        for (const auto& t : suite["testsuite"]) test = &t;
  if (!test) {
    result.status = Status::kFailed;
    result.message = fmt::format("the case binary has no case named {}", launch.info.name);
    return result;
  }

  std::vector<std::string> failures;
  if (test->contains("failures"))
    for (const auto& f : (*test)["failures"]) failures.push_back(f.value("failure", ""));
  if (!failures.empty() || (exit.exited && exit.exit_code != 0) || !exit.exited) {
    result.status = Status::kFailed;
    result.message = fmt::format("{}", fmt::join(failures, "\n"));
    if (!exit.exited)
      result.message +=
          fmt::format("\nthe case process was killed by {}", signal_name(exit.signal));
    result.rapidcheck_reproduce = find_reproduce(result.output);
    if (!result.rapidcheck_reproduce.empty())
      result.reproduce_command =
          fmt::format("RC_PARAMS=reproduce={} {} --gtest_filter='{}'", result.rapidcheck_reproduce,
                      launch.suite.string(), launch.info.name);
  } else if (test->value("result", "") == "SKIPPED") {
    result.status = Status::kSkipped;
    result.message = skip_reason(result.output);
  } else {
    result.status = Status::kPassed;
  }
  return result;
}

}  // namespace sockspec
