// sockspec: runs the AF_UNIX conformance cases and reports what this machine does.
//
//   sockspec run    [--filter PATTERN] [-j N] [--report DIR] [--trace fail|always|never]
//                   [--timeout SECONDS] [--suite PATH] [--cases DIR]
//   sockspec list   [--filter PATTERN] [--suite PATH] [--cases DIR]
//   sockspec script FILE... [-j N] [--report DIR] [--trace MODE] [--timeout SECONDS]
//   sockspec targets   (where cases can run: native, gvisor, qemu, proot, ...)
//   sockspec matrix --target T1,T2,... [run options]   runs each target, then the table
//   sockspec matrix --merge RESULTS.json...  [--report DIR]   the table of earlier runs
//
// run and script take --target NAME (default native); a target that is not installed or
// cannot run here is an environment error, never a silent native run.
//
// Exit status: 0 all passed, 1 a case failed, 2 usage or environment error (a malformed
// script among them), 130 interrupted.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "runner/engine/case_list.h"
#include "runner/engine/run_cases.h"
#include "runner/engine/target.h"
#include "runner/judgement/expectations.h"
#include "runner/presentation/console.h"
#include "runner/presentation/matrix.h"
#include "runner/presentation/reports.h"
#include "runner/runner_error.h"
#include "script/interpreter.h"
#include "script/parser.h"

namespace sockspec {
namespace {

std::filesystem::path default_suite() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "sockspec-suite";
}

// The GoogleTest cases of the suite binary, then the scripted cases under `cases_dir`.
std::vector<CaseInfo> all_cases(const std::filesystem::path& suite,
                                const std::filesystem::path& cases_dir) {
  std::vector<CaseInfo> cases = discover_cases(suite);
  if (cases_dir.empty()) return cases;
  if (!std::filesystem::is_directory(cases_dir))
    throw RunnerError(fmt::format(
        "no scripted cases at {}; point --cases at the cases/ folder of the source tree",
        cases_dir.string()));
  for (auto& c : discover_scripts(cases_dir)) cases.push_back(std::move(c));
  return cases;
}

int list_command(const std::vector<CaseInfo>& cases) {
  for (const auto& c : cases) {
    fmt::print("{}\n", c.name);
    fmt::print("    rule: {}\n", c.rule.empty() ? "(none stated)" : c.rule);
    if (!c.citation.empty())
      fmt::print("    documented in: {}{}\n", c.citation,
                 c.linux_note.empty() ? "" : " (" + c.linux_note + ")");
  }
  return kAllPassed;
}

// `sockspec targets`: each target, and whether it can run cases on this machine.
int targets_command() {
  for (const auto& target : all_targets()) {
    fmt::print("{:<11} {}\n", target.name, target.description);
    fmt::print("{:<11} {}\n", "", describe(check_target(target)));
  }
  return kAllPassed;
}

// The target named on the command line, checked: not installed or not usable is an error.
// Its expectation table comes from `expectations`, or else ci/expectations/TARGET.txt.
void choose_target(const std::string& name, const std::string& expectations, RunOptions& options) {
  const Target& target = find_target(name);
  const TargetState state = check_target(target);
  if (state.kind != TargetState::Kind::kAvailable)
    throw RunnerError(fmt::format("the {} target is {}", name, describe(state)));
  options.target = &target;
  options.target_version = state.version;
  if (target.scripted_cases_only()) options.actor_program = target.actor_program;
  options.timeout *= target.deadline_scale;
  const std::filesystem::path table =
      expectations.empty()
          ? std::filesystem::path(SOCKSPEC_SOURCE_DIR) / "ci" / "expectations" / (name + ".txt")
          : std::filesystem::path(expectations);
  if (!expectations.empty() && !std::filesystem::exists(table))
    throw RunnerError(fmt::format("--expectations {}: no such file", expectations));
  options.expectations = load_expectations(table);
}

// Writes the matrix of `results` as REPORT/matrix.md and matrix.html, and prints it.
void write_matrix(const std::vector<std::filesystem::path>& results,
                  const std::filesystem::path& report_dir) {
  const Matrix matrix = load_matrix(results);
  std::error_code ec;
  std::filesystem::create_directories(report_dir, ec);
  const auto dir = std::filesystem::absolute(report_dir);
  for (const auto& [name, text] : {std::pair{"matrix.md", matrix_markdown(matrix, dir)},
                                   std::pair{"matrix.html", matrix_html(matrix, dir)}}) {
    std::ofstream out(dir / name);
    if (!(out << text))
      throw RunnerError(
          fmt::format("cannot write {}; choose another --report dir", (dir / name).string()));
  }
  std::fflush(stdout);
  write_matrix_text(matrix, stdout, ::isatty(STDOUT_FILENO) != 0);
  fmt::print("\nmatrix: {}, {}\n", (dir / "matrix.md").string(), (dir / "matrix.html").string());
}

int run_and_report(const std::vector<CaseInfo>& cases, const RunOptions& options);

// The cases that can run on the chosen target: all, or the scripted ones only.
std::vector<CaseInfo> runnable_on(const RunOptions& options, std::vector<CaseInfo> cases) {
  if (options.target && options.target->scripted_cases_only()) {
    std::erase_if(cases, [](const CaseInfo& c) { return c.script.empty(); });
    fmt::print("{}: only the scripted cases run here ({})\n", options.target->name,
               options.target->description);
  }
  return cases;
}

// `sockspec matrix`: with --target, runs each target in turn into REPORT/TARGET (every one
// is checked first, so a missing one stops the command before any runs); with --merge,
// only reads earlier results. Exit status as for run: 1 when any target had a failure.
int matrix_command(const std::string& targets, const std::vector<std::string>& merge,
                   const std::string& filter, const std::string& cases_dir,
                   const RunOptions& base) {
  if (targets.empty() == merge.empty())
    throw RunnerError("sockspec matrix needs either --target T1,T2,... or --merge FILE...");
  std::vector<std::filesystem::path> results(merge.begin(), merge.end());
  int status = kAllPassed;
  if (!targets.empty()) {
    std::vector<RunOptions> runs;
    std::stringstream names(targets);
    for (std::string name; std::getline(names, name, ',');) {
      RunOptions options = base;
      choose_target(name, "", options);
      options.report_dir = base.report_dir / name;
      runs.push_back(std::move(options));
    }
    const auto all = filter_cases(all_cases(base.suite, cases_dir), filter);
    if (all.empty())
      throw RunnerError(fmt::format("no case matches --filter '{}'; see `sockspec list`", filter));
    for (const auto& options : runs) {
      fmt::print("== target {} {}\n", options.target->name, options.target_version);
      const auto cases = runnable_on(options, all);
      std::fflush(stdout);
      const int run_status = run_and_report(cases, options);
      if (run_status == kInterrupted) return run_status;
      status = std::max(status, run_status);
      results.push_back(options.report_dir / "results.json");
    }
    fmt::print("\n");
  }
  write_matrix(results, base.report_dir);
  return status;
}

int run_and_report(const std::vector<CaseInfo>& cases, const RunOptions& options) {
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
    if (is_failure(r.status)) return kSomeFailed;
  return kAllPassed;
}

// A scripted case's name: its path below the cases folder, as `sockspec run` names it, or
// else its folder and file name ("script/Inputs/wrong-errno").
std::string script_name(const std::filesystem::path& file, const std::filesystem::path& cases_dir) {
  const auto absolute = std::filesystem::weakly_canonical(file);
  if (!cases_dir.empty()) {
    const auto relative = absolute.lexically_relative(std::filesystem::weakly_canonical(cases_dir));
    if (!relative.empty() && *relative.begin() != "..")
      return "script/" + std::filesystem::path(relative).replace_extension().string();
  }
  return "script/" + (absolute.parent_path().filename() / absolute.stem()).string();
}

// `sockspec script FILE...`: every file is parsed before any runs, so a malformed one stops
// the command with its file:line:column.
std::vector<CaseInfo> script_cases(const std::vector<std::string>& files,
                                   const std::filesystem::path& cases_dir) {
  std::vector<CaseInfo> cases;
  for (const auto& file : files) {
    script::Script parsed;
    try {
      parsed = script::parse_script_file(file);
    } catch (const script::ScriptError& e) {
      throw RunnerError(e.what());
    }
    cases.push_back({script_name(file, cases_dir), parsed.rule, parsed.source, parsed.linux_note,
                     file, 1, std::filesystem::absolute(file).string()});
  }
  return cases;
}

// `sockspec script --one FILE`: the process of one scripted case, started by the runner.
int interpret_one(const std::string& file) {
  try {
    return script::interpret(script::parse_script_file(file), std::cout);
  } catch (const script::ScriptError& e) {
    std::fprintf(stderr, "sockspec: %s\n", e.what());
    return kUsageOrEnvironment;
  }
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
  std::string cases_dir = SOCKSPEC_CASES_DIR;
  std::string trace_mode = "fail";
  std::string target_name = "native";
  std::string expectations;
  const std::map<std::string, TraceMode> trace_modes{
      {"fail", TraceMode::kFail}, {"always", TraceMode::kAlways}, {"never", TraceMode::kNever}};

  // The options of a run, shared by `run` and `script`.
  auto add_run_options = [&](CLI::App* command) {
    command->add_option("-j,--jobs", options.jobs, "Cases run at once")->check(CLI::Range(1, 256));
    command->add_option("--report", options.report_dir,
                        "Report dir: junit.xml, results.json, traces/");
    command->add_option("--trace", trace_mode,
                        "When to keep a syscall trace: fail (default), always, never");
    command->add_option("--timeout", timeout_seconds, "Deadline of each case, in seconds")
        ->check(CLI::Range(1.0, 3600.0));
    command->add_option("--target", target_name,
                        "Where the cases run: native (default), gvisor, qemu, proot, proot-bind, "
                        "valgrind, musl (see `sockspec targets`)");
    command
        ->add_option("--actor", options.actor_program,
                     "Run the actors of scripted cases as this program (harness/c_actor)")
        ->check(CLI::ExistingFile);
    command->add_option("--expectations", expectations,
                        "Known divergences of the target (default: ci/expectations/TARGET.txt)");
  };

  auto* run = app.add_subcommand("run", "Run the cases on this machine and write a report");
  run->add_option("--filter", filter,
                  "Cases to run: POS:POS:-NEG:NEG, globs with * and ? (a - that begins a "
                  "pattern starts the negative ones)");
  add_run_options(run);
  run->add_option("--suite", suite, "Case binary to run (default: sockspec-suite beside sockspec)");
  run->add_option("--cases", cases_dir, "Folder of scripted cases (*.case); \"\" for none");

  auto* list =
      app.add_subcommand("list", "List every case with the rule it checks and its citation");
  list->add_option("--filter", filter, "Cases to list (GoogleTest filter syntax)");
  list->add_option("--suite", suite, "Case binary to list");
  list->add_option("--cases", cases_dir, "Folder of scripted cases (*.case); \"\" for none");

  std::vector<std::string> script_files;
  std::string one_script;
  auto* script =
      app.add_subcommand("script", "Run scripted cases (the language: cases/LANGUAGE.md)");
  script->add_option("files", script_files, "Case files")->check(CLI::ExistingFile);
  add_run_options(script);
  script->add_option("--one", one_script, "Interpret one file in this process")->group("");

  auto* targets =
      app.add_subcommand("targets", "List where cases can run, and whether each can run here");

  std::string matrix_targets;
  std::vector<std::string> merge_files;
  auto* matrix = app.add_subcommand(
      "matrix", "Run several targets (or merge earlier results) into one case x target table");
  matrix->add_option("--target", matrix_targets, "Targets to run, comma-separated");
  matrix->add_option("--merge", merge_files, "results.json files (or report dirs) to merge")
      ->check(CLI::ExistingPath);
  matrix->add_option("--filter", filter, "Cases to run: POS:POS:-NEG:NEG, globs with * and ?");
  matrix->add_option("-j,--jobs", options.jobs, "Cases run at once")->check(CLI::Range(1, 256));
  matrix->add_option("--report", options.report_dir,
                     "Report dir: one sub-dir per target, matrix.md, matrix.html");
  matrix->add_option("--trace", trace_mode, "When to keep a syscall trace: fail, always, never");
  matrix->add_option("--timeout", timeout_seconds, "Deadline of each case, in seconds")
      ->check(CLI::Range(1.0, 3600.0));

  const std::vector<std::string_view> commands{"run", "list", "script", "targets", "matrix"};
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
    std::fprintf(
        stderr,
        "sockspec: unknown command '%s'; the commands are run, list, script, targets and matrix "
        "(see `sockspec --help`)\n",
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
    if (app.get_subcommands().empty())
      what = "a command is required: run, list, script, targets or matrix";
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
    if (targets->parsed()) return targets_command();
    if (matrix->parsed())
      return matrix_command(matrix_targets, merge_files, filter, cases_dir, options);
    if (run->parsed() || (script->parsed() && one_script.empty()))
      choose_target(target_name, expectations, options);
    if (script->parsed()) {
      if (!one_script.empty()) return interpret_one(one_script);
      if (script_files.empty())
        throw RunnerError("sockspec script needs at least one case file (cases/**/*.case)");
      return run_and_report(script_cases(script_files, cases_dir), options);
    }
    const auto listed = filter_cases(all_cases(options.suite, cases_dir), filter);
    if (list->parsed()) return list_command(listed);
    const auto cases = runnable_on(options, listed);
    if (cases.empty())
      throw RunnerError(fmt::format("no case matches --filter '{}'; see `sockspec list`", filter));
    return run_and_report(cases, options);
  } catch (const RunnerError& e) {
    std::fprintf(stderr, "sockspec: %s\n", e.what());
    return kUsageOrEnvironment;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sockspec: %s\n", e.what());
    return kUsageOrEnvironment;
  }
}
