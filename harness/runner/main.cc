// sockspec: runs the AF_UNIX conformance cases and reports what this machine does.
//
//   sockspec run  [--filter PATTERN] [-j N] [--report DIR] [--trace fail|always|never]
//                 [--timeout SECONDS] [--suite PATH]
//   sockspec list [--filter PATTERN] [--suite PATH]
//
// Exit status: 0 all passed, 1 a case failed, 2 usage or environment error, 130 interrupted.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "case_list.h"
#include "console.h"
#include "reports.h"
#include "run_cases.h"
#include "runner_error.h"

namespace sockspec {
namespace {

std::filesystem::path default_suite() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "sockspec-suite";
}

int list_command(const std::filesystem::path& suite, const std::string& filter) {
  for (const auto& c : filter_cases(discover_cases(suite), filter)) {
    fmt::print("{}\n", c.name);
    fmt::print("    rule: {}\n", c.rule.empty() ? "(none stated)" : c.rule);
    if (!c.citation.empty())
      fmt::print("    documented in: {}{}\n", c.citation,
                 c.linux_note.empty() ? "" : " (" + c.linux_note + ")");
  }
  return kAllPassed;
}

int run_command(const RunOptions& options, const std::string& filter) {
  const auto cases = filter_cases(discover_cases(options.suite), filter);
  if (cases.empty())
    throw RunnerError(fmt::format("no case matches --filter '{}'; see `sockspec list`", filter));
  std::error_code ec;
  std::filesystem::create_directories(options.report_dir, ec);
  if (ec || ::access(options.report_dir.c_str(), W_OK) != 0)
    throw RunnerError(fmt::format("cannot write the report dir {}; choose another with --report",
                                  options.report_dir.string()));

  Console console(stdout, cases.size(), options.report_dir);
  const RunObserver observer{[&](const CaseInfo& c) { console.started(c); },
                             [&](const CaseResult& r) { console.finished(r); }};
  const RunSummary summary = run_cases(cases, options, observer);
  write_junit(summary, options.report_dir);
  write_results_json(summary, options.report_dir);
  console.summary(summary);
  if (summary.interrupted) return kInterrupted;
  for (const auto& r : summary.results)
    if (r.status == Status::kFailed) return kSomeFailed;
  return kAllPassed;
}

}  // namespace
}  // namespace sockspec

int main(int argc, char** argv) {
  using namespace sockspec;
  CLI::App app{"sockspec: an executable specification of AF_UNIX sockets"};
  app.require_subcommand(1);

  RunOptions options;
  options.suite = default_suite();
  options.report_dir = "sockspec-report";
  options.jobs = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  std::string filter;
  double timeout_seconds = 15;
  std::string suite = options.suite.string();

  auto* run = app.add_subcommand("run", "Run the cases on this machine and write a report");
  run->add_option("--filter", filter,
                  "Cases to run: GoogleTest filter syntax, POS:POS-NEG:NEG with * and ?");
  run->add_option("-j,--jobs", options.jobs, "Cases run at once")->check(CLI::Range(1, 256));
  run->add_option("--report", options.report_dir, "Report dir: junit.xml, results.json, traces/");
  const std::map<std::string, TraceMode> trace_modes{
      {"fail", TraceMode::kFail}, {"always", TraceMode::kAlways}, {"never", TraceMode::kNever}};
  std::string trace_mode = "fail";
  run->add_option("--trace", trace_mode,
                  "When to keep a syscall trace: fail (default), always, never");
  run->add_option("--timeout", timeout_seconds, "Deadline of each case, in seconds")
      ->check(CLI::Range(1.0, 3600.0));
  run->add_option("--suite", suite, "Case binary to run (default: sockspec-suite beside sockspec)");

  auto* list =
      app.add_subcommand("list", "List every case with the rule it checks and its citation");
  list->add_option("--filter", filter, "Cases to list (GoogleTest filter syntax)");
  list->add_option("--suite", suite, "Case binary to list");

  if (argc > 1 && argv[1][0] != '-' && std::string_view(argv[1]) != "run" &&
      std::string_view(argv[1]) != "list") {
    std::fprintf(
        stderr,
        "sockspec: unknown command '%s'; the commands are run and list (see `sockspec --help`)\n",
        argv[1]);
    return kUsageOrEnvironment;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (app.get_subcommands().empty()) what = "a command is required: run or list";
    std::fprintf(stderr, "sockspec: %s; see `sockspec --help`\n", what.c_str());
    return kUsageOrEnvironment;
  }

  try {
    if (!trace_modes.contains(trace_mode))
      throw RunnerError(
          fmt::format("--trace {} is not a trace mode; use fail, always or never", trace_mode));
    options.trace = trace_modes.at(trace_mode);
    options.suite = suite;
    options.timeout = std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
    if (list->parsed()) return list_command(options.suite, filter);
    return run_command(options, filter);
  } catch (const RunnerError& e) {
    std::fprintf(stderr, "sockspec: %s\n", e.what());
    return kUsageOrEnvironment;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sockspec: %s\n", e.what());
    return kUsageOrEnvironment;
  }
}
