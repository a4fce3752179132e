// sockspec: runs the AF_UNIX conformance cases and reports what this machine does.
//
//   sockspec run    [--filter PATTERN] [-j N] [--report DIR] [--trace fail|always|never]
//                   [--timeout SECONDS] [--hang-after SECONDS] [--target T] [--suite PATH]
//                   [--cases DIR]
//   sockspec list   [--rules] [--filter PATTERN] [--suite PATH] [--cases DIR]
//   sockspec script FILE... [run options]
//   sockspec targets           where cases can run: native, gvisor, qemu, proot, ...
//   sockspec features [--target T]   what this machine offers a case (cases/lit.cfg.py reads it)
//   sockspec calls             the calls of the case language (cases/LANGUAGE.md's reference)
//   sockspec matrix --target T1,T2,... [run options]   runs each target, then the table
//   sockspec matrix --merge RESULTS.json...  [--report DIR]   the table of earlier runs
//   sockspec faults [--plan inject,signal,kill,limits] [--filter PATTERN] [run options]
//                   the scripted cases under fault plans, their invariants checked
//
// A target that is not installed or cannot run here is an error (exit 3), never a silent
// native run. Exit statuses: runner_error.h.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "os/host.h"
#include "runner/engine/case_list.h"
#include "runner/engine/run_cases.h"
#include "runner/engine/target.h"
#include "runner/fault_campaign.h"
#include "runner/judgement/expectations.h"
#include "runner/presentation/console.h"
#include "runner/presentation/matrix.h"
#include "runner/presentation/reports.h"
#include "runner/presentation/rule_list.h"
#include "runner/runner_error.h"
#include "script/calls.h"
#include "script/fault_plans.h"

namespace sockspec {
namespace {

std::filesystem::path beside_sockspec(const char* name) {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path() / name;
}

// The GoogleTest cases of the case program, then the scripted cases under `cases_dir`.
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
    if (!c.catalogue.empty()) fmt::print("    catalogue: {}\n", fmt::join(c.catalogue, ", "));
  }
  return kAllPassed;
}

// `sockspec list --rules`: the rules of `shown`, after checking the catalogue rows and twins
// that all the rules cite (cases/CATALOGUE.md beside the scripted cases).
int list_rules_command(const std::vector<CaseInfo>& all, const std::vector<CaseInfo>& shown,
                       const std::string& cases_dir) {
  std::size_t in_scope = 0;
  if (!cases_dir.empty()) {
    const auto catalogue = std::filesystem::path(cases_dir) / "CATALOGUE.md";
    const auto rows = catalogue_rows(catalogue);
    check_rule_references(all, rows, catalogue);
    in_scope = std::count_if(rows.begin(), rows.end(), [](const auto& r) { return r.in_scope; });
  }
  print_rules(stdout, shown, in_scope, SOCKSPEC_SOURCE_DIR);
  return kAllPassed;
}

// `sockspec targets`: each target, and whether it can run cases on this machine.
int targets_command() {
  for (const auto& target : all_targets()) {
    fmt::print("{:<11} {}\n", target.name, target.description);
    const TargetState state = target.check(target);
    fmt::print("{:<11} {}\n", "", describe(state));
    if (!state.note.empty()) fmt::print("{:<11} {}\n", "", state.note);
  }
  return kAllPassed;
}

// `sockspec features`: one present feature a line ("name"), then the missing ones as
// comments with the reason ("# uml: ..."), for cases/lit.cfg.py and for people.
int features_command(const std::string& target_name) {
  const Target& target = find_target(target_name);
  std::vector<Feature> missing;
  for (const auto& feature : host_features()) {
    if (feature.present())
      fmt::print("{}\n", feature.name);
    else
      missing.push_back(feature);
  }
  fmt::print("target={}\n{}\n", target.name, target.name);
  for (const auto& feature : missing) fmt::print("# {}: {}\n", feature.name, feature.why_not);
  return kAllPassed;
}

// The target named on the command line, checked: not installed or not usable is an error.
// Its expectation table comes from `expectations`, or else ci/expectations/TARGET.txt.
void choose_target(const std::string& name, const std::string& expectations, RunOptions& options) {
  const Target& target = find_target(name);
  const TargetState state = target.check(target);
  if (state.kind != TargetState::Kind::kAvailable)
    throw RunnerError(fmt::format("the {} target is {}", name, describe(state)),
                      kTargetUnavailable);
  options.target = &target;
  options.target_state = state;
  if (!target.actor_program.empty()) options.actor_program = target.actor_program;
  if (!options.preload.empty() && target.name == "musl")
    throw RunnerError(
        "--preload cannot reach the musl target's actors: they are static "
        "programs, which ignore LD_PRELOAD");
  if (!options.preload.empty()) options.preload = std::filesystem::absolute(options.preload);
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

// The cases that can run on the chosen target: all, or those whose calls an actor makes: the
// scripted cases, and the Model/ properties, which run their calls as scripts.
std::vector<CaseInfo> runnable_on(const RunOptions& options, std::vector<CaseInfo> cases) {
  if (options.target && options.target->scripted_cases_only) {
    std::erase_if(cases,
                  [](const CaseInfo& c) { return !c.scripted() && !c.name.starts_with("Model/"); });
    fmt::print("{}: only the scripted cases and the models run here ({})\n", options.target->name,
               options.target->description);
  }
  return cases;
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
  if (summary.interrupted_by) return kInterruptedBase + summary.interrupted_by;
  for (const auto& r : summary.results)
    if (is_failure(r.status)) return kSomeFailed;
  return kAllPassed;
}

// `sockspec matrix`: with --target, runs each target in turn into REPORT/TARGET (every one
// is checked first, so a missing one stops the command before any runs); with --merge,
// only reads earlier results. Exit status as for run: 1 when any target had a failure.
int matrix_command(const std::vector<std::string>& targets, const std::vector<std::string>& merge,
                   const std::string& filter, const std::string& cases_dir,
                   const RunOptions& base) {
  if (targets.empty() == merge.empty())
    throw RunnerError("sockspec matrix needs either --target T1,T2,... or --merge FILE...");
  std::vector<std::filesystem::path> results(merge.begin(), merge.end());
  int status = kAllPassed;
  if (!targets.empty()) {
    std::vector<RunOptions> runs;
    for (const auto& name : targets) {
      RunOptions options = base;
      choose_target(name, "", options);
      options.report_dir = base.report_dir / name;
      runs.push_back(std::move(options));
    }
    const auto all = filter_cases(all_cases(base.suite, cases_dir), filter);
    if (all.empty())
      throw RunnerError(fmt::format("no case matches --filter '{}'; see `sockspec list`", filter));
    for (const auto& options : runs) {
      fmt::print("== target {} {}\n", options.target->name, options.target_state.version);
      const auto cases = runnable_on(options, all);
      std::fflush(stdout);
      const int run_status = run_and_report(cases, options);
      if (run_status >= kInterruptedBase) return run_status;
      status = std::max(status, run_status);
      results.push_back(options.report_dir / "results.json");
    }
    fmt::print("\n");
  }
  write_matrix(results, base.report_dir);
  return status;
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
  for (const auto& file : files) cases.push_back(scripted_case(file, script_name(file, cases_dir)));
  return cases;
}

}  // namespace
}  // namespace sockspec

int main(int argc, char** argv) {
  using namespace sockspec;
  CLI::App app{"sockspec: an executable specification of AF_UNIX sockets"};
  app.require_subcommand(1);

  RunOptions options;
  options.suite = beside_sockspec("sockspec-suite");
  options.report_dir = "sockspec-report";
  options.jobs = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  std::string filter;
  double timeout_seconds = 15;
  double hang_after_seconds = 1;
  std::string cases_dir = SOCKSPEC_CASES_DIR;
  std::string target_name = "native";
  std::string expectations;
  std::string trace_mode = "fail";
  const std::map<std::string, TraceMode> trace_modes{
      {"fail", TraceMode::kFail}, {"always", TraceMode::kAlways}, {"never", TraceMode::kNever}};

  // The options of a run, shared by `run`, `script` and `matrix`.
  auto add_run_options = [&](CLI::App* command) {
    command->add_option("-j,--jobs", options.jobs, "Cases run at once")->check(CLI::Range(1, 256));
    command->add_option("--report", options.report_dir,
                        "Report dir: junit.xml, results.json, traces/");
    command
        ->add_option("--trace", trace_mode,
                     "When to keep a syscall trace: fail (default), always, never")
        ->check(CLI::IsMember({"fail", "always", "never"}));
    command->add_option("--timeout", timeout_seconds, "Deadline of each case, in seconds")
        ->check(CLI::Range(1.0, 3600.0));
    command
        ->add_option("--hang-after", hang_after_seconds,
                     "A case whose every process has been asleep this long, with nothing but "
                     "another of them to wake it, is ended as hung (seconds; 0: wait for the "
                     "deadline)")
        ->check(CLI::Range(0.0, 3600.0));
  };
  auto add_target_options = [&](CLI::App* command) {
    command->add_option("--target", target_name,
                        "Where the cases run: native (default), gvisor, qemu, proot, proot-bind, "
                        "valgrind, musl (see `sockspec targets`)");
    command
        ->add_option("--actor", options.actor_program,
                     "Run the actors of scripted cases as this program (harness/c_actor)")
        ->check(CLI::ExistingFile);
    command->add_option("--expectations", expectations,
                        "Known divergences of the target (default: ci/expectations/TARGET.txt)");
    command
        ->add_option("--preload", options.preload,
                     "Preload this library (LD_PRELOAD) into the processes that make the calls "
                     "under test: an interposer to check, or a deviation shim (harness/deviations)")
        ->check(CLI::ExistingFile);
  };
  std::string suite = options.suite.string();

  auto* run = app.add_subcommand("run", "Run the cases on this machine and write a report");
  run->add_option("--filter", filter,
                  "Cases to run: POS:POS:-NEG:NEG, globs with * and ? matching case names or "
                  "the catalogue rows they cite (AR-07); a - that begins a pattern starts the "
                  "negative ones");
  add_run_options(run);
  add_target_options(run);
  run->add_option("--suite", suite, "Case program (default: sockspec-suite beside sockspec)");
  run->add_option("--cases", cases_dir, "Folder of scripted cases (*.case); \"\" for none");

  auto* list =
      app.add_subcommand("list", "List every case with the rule it checks and its citation");
  bool by_rule = false;
  list->add_flag("--rules", by_rule,
                 "One entry per rule (instances collapsed), with its catalogue rows, file and "
                 "twin; checks that every cited row and twin exists");
  list->add_option("--filter", filter,
                   "Cases to list: POS:POS:-NEG:NEG, globs matching names or catalogue rows");
  list->add_option("--suite", suite, "Case program to list");
  list->add_option("--cases", cases_dir, "Folder of scripted cases (*.case); \"\" for none");

  std::vector<std::string> script_files;
  auto* script =
      app.add_subcommand("script", "Run scripted cases (the language: cases/LANGUAGE.md)");
  script->add_option("files", script_files, "Case files")->check(CLI::ExistingFile);
  add_run_options(script);
  add_target_options(script);
  script->add_option("--suite", suite, "Case program that serves them (default: sockspec-suite)");

  auto* targets =
      app.add_subcommand("targets", "List where cases can run, and whether each can run here");

  auto* features = app.add_subcommand(
      "features", "Print what this machine offers a case, one feature a line (for lit)");
  features->add_option("--target", target_name, "The target whose name to print as a feature");

  auto* calls = app.add_subcommand(
      "calls", "Print the calls of the case language: the reference table of cases/LANGUAGE.md");

  std::vector<std::string> matrix_targets;
  std::vector<std::string> merge_files;
  auto* matrix = app.add_subcommand(
      "matrix", "Run several targets (or merge earlier results) into one case x target table");
  matrix->add_option("--target", matrix_targets, "Targets to run, comma-separated")->delimiter(',');
  matrix->add_option("--merge", merge_files, "results.json files (or report dirs) to merge")
      ->check(CLI::ExistingPath);
  matrix->add_option("--filter", filter, "Cases to run: POS:POS:-NEG:NEG, globs with * and ?");
  matrix->add_option("--suite", suite, "Case program (default: sockspec-suite beside sockspec)");
  add_run_options(matrix);

  std::vector<std::string> plans = script::fault_plan_names();
  auto* faults = app.add_subcommand(
      "faults", "Run the cases under fault plans and check what must hold whatever the fault");
  faults
      ->add_option("--plan", plans,
                   "Fault plans, comma-separated: inject, signal, kill, limits (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember(script::fault_plan_names()));
  faults->add_option("--filter", filter,
                     "Cases to fault: POS:POS:-NEG:NEG, globs matching names or catalogue rows");
  add_run_options(faults);
  add_target_options(faults);
  faults->add_option("--suite", suite, "Case program that serves them (default: sockspec-suite)");
  faults->add_option("--cases", cases_dir, "Folder of scripted cases (*.case); \"\" for none");

  const std::vector<std::string_view> commands{"run",      "list",  "script", "targets",
                                               "features", "calls", "matrix", "faults"};
  if (argc > 1 && argv[1][0] != '-' &&
      std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
    fmt::print(stderr,
               "sockspec: unknown command '{}'; the commands are run, list, script, targets, "
               "features, calls, matrix and faults (see `sockspec --help`)\n",
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
      what = "a command is required: run, list, script, targets, features, calls, matrix or faults";
    fmt::print(stderr, "sockspec: {}; see `sockspec --help`\n", what);
    return kUsageOrEnvironment;
  }

  try {
    // An empty path would otherwise surface as a filesystem error naming no option.
    if (suite.empty())
      throw RunnerError("--suite needs the path of a case program, such as build/sockspec-suite");
    if (options.report_dir.empty())
      throw RunnerError("--report needs a directory to write the report in");
    options.suite = std::filesystem::absolute(suite);
    // Cases run in directories of their own: a relative trace path would land there.
    options.report_dir = std::filesystem::absolute(options.report_dir);
    options.trace = trace_modes.at(trace_mode);
    options.timeout = std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
    options.hang_after = std::chrono::milliseconds(static_cast<long>(hang_after_seconds * 1000));
    if (targets->parsed()) return targets_command();
    if (features->parsed()) return features_command(target_name);
    if (calls->parsed()) {
      fmt::print("{}", script::calls_reference());
      return kAllPassed;
    }
    if (matrix->parsed())
      return matrix_command(matrix_targets, merge_files, filter, cases_dir, options);
    if (!std::filesystem::exists(options.suite))
      throw RunnerError(fmt::format("case program {} not found; build it with `ci/bootstrap`",
                                    options.suite.string()));
    if (run->parsed() || script->parsed() || faults->parsed())
      choose_target(target_name, expectations, options);
    if (script->parsed()) {
      if (script_files.empty())
        throw RunnerError("sockspec script needs at least one case file (cases/**/*.case)");
      return run_and_report(script_cases(script_files, cases_dir), options);
    }
    if (faults->parsed()) {
      const auto chosen =
          runnable_on(options, filter_cases(all_cases(options.suite, cases_dir), filter));
      if (chosen.empty())
        throw RunnerError(
            fmt::format("no case matches --filter '{}'; see `sockspec list`", filter));
      return run_fault_campaign(chosen, plans, options);
    }
    const auto every_case = all_cases(options.suite, cases_dir);
    const auto listed = filter_cases(every_case, filter);
    if (list->parsed() && by_rule) return list_rules_command(every_case, listed, cases_dir);
    if (list->parsed()) return list_command(listed);
    const auto cases = runnable_on(options, listed);
    if (cases.empty())
      throw RunnerError(fmt::format("no case matches --filter '{}'; see `sockspec list`", filter));
    return run_and_report(cases, options);
  } catch (const RunnerError& e) {
    fmt::print(stderr, "sockspec: {}\n", e.what());
    return e.exit_status;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sockspec: {}\n", e.what());
    return kUsageOrEnvironment;
  }
}
