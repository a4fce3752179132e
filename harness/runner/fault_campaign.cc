#include "runner/fault_campaign.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runner/engine/case_list.h"
#include "runner/googletest_faults.h"
#include "runner/judgement/expectations.h"
#include "runner/runner_error.h"
#include "script/fault_plans.h"
#include "script/parser.h"

namespace sockspec {

namespace {

struct FaultRun {
  std::string case_name;  // the case faulted: "script/03-stream/06-bytes-arrive-in-order"
  script::FaultedCase faulted;
  std::filesystem::path file;  // the faulted case, written out
};

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw RunnerError(fmt::format("cannot read {}", file.string()));
  return text.str();
}

// Every line after the first indented under a VIOLATION heading.
std::string indented(std::string text) {
  for (std::size_t at = 0; (at = text.find('\n', at)) != std::string::npos; at += 5)
    text.replace(at, 1, "\n    ");
  return text;
}

// Writes every faulted case of `cases` below `dir`, named after the case and the fault. They
// run in turns, a fault point of each case in turn, so that the runs that go at the same
// time are of different cases: two runs of one case would share what a case keeps per user
// (the fds its user has in flight) and its names.
std::vector<FaultRun> write_faulted_cases(const std::vector<CaseInfo>& cases,
                                          const std::vector<std::string>& plans,
                                          const std::filesystem::path& dir) {
  std::vector<std::vector<FaultRun>> per_case;
  for (const auto& c : cases) {
    std::vector<FaultRun>& runs = per_case.emplace_back();
    const std::string text = read_text(c.script);
    const script::Script parsed = script::parse_script(c.script, text);
    std::map<std::string, int> numbered;
    const std::string below = c.name.substr(c.name.find('/') + 1);  // without "script/"
    for (auto& faulted : script::faulted_cases(parsed, text, plans)) {
      const std::string file_name =
          fmt::format("{}-{:03}.case", faulted.plan, ++numbered[faulted.plan]);
      const auto file = dir / below / file_name;
      std::filesystem::create_directories(file.parent_path());
      std::ofstream out(file);
      if (!(out << faulted.text))
        throw RunnerError(
            fmt::format("cannot write {}; choose another --report dir", file.string()));
      runs.push_back({c.name, std::move(faulted), file});
    }
  }
  std::vector<FaultRun> in_turns;
  for (std::size_t turn = 0;; ++turn) {
    const std::size_t before = in_turns.size();
    for (auto& runs : per_case)
      if (turn < runs.size()) in_turns.push_back(std::move(runs[turn]));
    if (in_turns.size() == before) return in_turns;
  }
}

// The GoogleTest cases' faulted runs (googletest_faults.h): each case is run once, traced,
// to count its socket calls. A case that does not pass unfaulted is not faulted.
std::vector<GoogleTestFault> plan_googletest_faults(const std::vector<CaseInfo>& cases,
                                                    const std::vector<std::string>& plans,
                                                    const RunOptions& options) {
  RunOptions counting = options;
  counting.trace = TraceMode::kAlways;
  counting.report_dir = options.report_dir / "faults" / "counting";
  std::filesystem::create_directories(counting.report_dir);
  const RunSummary summary = run_cases(cases, counting, {});
  if (summary.interrupted_by) return {};
  if (!summary.trace_note.empty())
    throw RunnerError(
        fmt::format("GoogleTest cases are faulted by strace, and here it cannot trace ({}); choose "
                    "scripted cases with --filter 'script/*'",
                    summary.trace_note));
  std::vector<GoogleTestFault> faults;
  std::size_t properties = 0;
  for (const CaseResult& r : summary.results) {
    if (r.status != Status::kPassed || r.traces.empty()) {
      fmt::print("not faulted, it does not pass unfaulted ({}): {}\n", status_name(r.status),
                 r.info.name);
      continue;
    }
    // A property shrinks its counterexample by running it again, which a fault that came
    // once does not follow: what it reported would not be what failed.
    if (!r.property_tests.empty() ||
        r.output.find("Using configuration: seed=") != std::string::npos) {
      ++properties;
      continue;
    }
    const auto counts = count_socket_calls(counting.report_dir / r.traces.front());
    for (auto& f : googletest_faults(r.info, counts, options.suite, plans))
      faults.push_back(std::move(f));
  }
  if (properties)
    fmt::print(
        "{} properties are not faulted: a property replays its counterexample to shrink "
        "it, and a fault injected once is not there on the replay\n",
        properties);
  std::error_code ignored;
  std::filesystem::remove_all(counting.report_dir, ignored);
  return faults;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int run_fault_campaign(const std::vector<CaseInfo>& cases, const std::vector<std::string>& plans,
                       const RunOptions& options) {
  const auto campaign_start = std::chrono::steady_clock::now();
  std::vector<CaseInfo> faulted_here, divergent, googletest;
  for (const auto& c : cases) {
    // A case the target's table lists fails there as written: faulting it would report the
    // known divergence again, once per fault point.
    if (listed_in(options.expectations, c.name))
      divergent.push_back(c);
    else
      (c.scripted() ? faulted_here : googletest).push_back(c);
  }
  if (faulted_here.empty() && googletest.empty())
    throw RunnerError("no case to fault; --filter chooses among `sockspec list`");

  const auto dir = options.report_dir / "faults";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  const std::vector<FaultRun> runs = write_faulted_cases(faulted_here, plans, dir / "cases");
  std::vector<CaseInfo> infos;
  for (const auto& run : runs) {
    CaseInfo info = scripted_case(
        run.file,
        "faults/" + (run.file.lexically_relative(dir / "cases")).replace_extension().string());
    info.rule = run.faulted.fault + " — " + info.rule;
    infos.push_back(std::move(info));
  }

  const std::vector<GoogleTestFault> compiled =
      googletest.empty() ? std::vector<GoogleTestFault>{}
                         : plan_googletest_faults(googletest, plans, options);
  std::map<std::string, const GoogleTestFault*> compiled_by_name;
  for (const auto& f : compiled) {
    infos.push_back(f.run);
    compiled_by_name[f.run.name] = &f;
  }

  std::size_t points = compiled.size();
  for (const auto& run : runs) points += run.faulted.plan != "none";
  fmt::print("{} cases, {} fault points ({}), {} unfaulted runs{}\n",
             faulted_here.size() + googletest.size(), points, fmt::join(plans, ", "),
             runs.size() - (points - compiled.size()),
             options.target ? " on " + options.target->name : "");
  if (!googletest.empty())
    fmt::print("{} GoogleTest cases, {} fault points\n", googletest.size(), compiled.size());
  for (const auto& c : divergent)
    fmt::print("not faulted, a known divergence of the target: {}\n", c.name);
  std::fflush(stdout);

  // Only a violation is printed in full as it comes; the rest is counted. The target's
  // table applies to the faulted runs too: an entry for `faults/...` names a known
  // divergence the campaign meets again (gVisor's EINTR under SA_RESTART at every blocked
  // call), which is then an expected failure, not a violation.
  std::size_t done = 0;
  const RunOptions& campaign = options;
  std::map<std::string, std::string> compiled_violations;  // by the faulted run's name
  const RunObserver observer{
      [](const CaseInfo&) {},
      [&](const CaseResult& r) {
        ++done;
        if (const auto found = compiled_by_name.find(r.info.name);
            found != compiled_by_name.end()) {
          const std::string v = googletest_violation(
              r, *found->second,
              r.traces.empty() ? std::filesystem::path() : options.report_dir / r.traces.front());
          compiled_violations[r.info.name] = v;
          if (!v.empty())
            fmt::print(
                "VIOLATION {}\n    {}\n    trace: {}\n    reproduce: {}\n", r.info.name,
                indented(v),
                r.traces.empty() ? "(none)" : (options.report_dir / r.traces.front()).string(),
                found->second->reproduce);
        } else if (is_failure(r.status)) {
          fmt::print("VIOLATION {}\n    {}\n    reproduce: sockspec script {}\n", r.info.name,
                     indented(failure_text(r, options.report_dir)), r.info.script);
        }
        if (done % 1000 == 0) fmt::print("[{}/{}]\n", done, infos.size());
        std::fflush(stdout);
      }};
  const RunSummary summary = run_cases(infos, campaign, observer);

  // faults.json: per plan, the points, violations and skips; per violation, everything needed
  // to see it again.
  nlohmann::json report{{"target", summary.target},
                        {"target_version", summary.target_version},
                        {"libc", summary.libc},
                        {"plans", plans},
                        {"cases", faulted_here.size() + googletest.size()},
                        {"seconds", seconds_since(campaign_start)}};
  std::map<std::string, std::map<std::string, std::size_t>> per_plan;
  std::size_t violations = 0, skipped = 0, known = 0;
  nlohmann::json found = nlohmann::json::array();
  for (std::size_t i = runs.size(); i < summary.results.size(); ++i) {
    const CaseResult& r = summary.results[i];
    const GoogleTestFault& f = compiled[i - runs.size()];
    auto& counts = per_plan[f.plan + " (GoogleTest)"];
    ++counts["runs"];
    if (r.status == Status::kSkipped) ++counts["skipped"], ++skipped;
    if (r.status == Status::kExpectedFailure) ++counts["known"], ++known;
    const std::string& violation = compiled_violations[r.info.name];
    if (r.status == Status::kPassed) ++counts["passed"];
    if (r.status == Status::kFailed && violation.empty()) ++counts["failed, saying what it met"];
    if (violation.empty()) {
      // Its trace was only the fault's vehicle.
      for (const auto& trace : r.traces) std::filesystem::remove(options.report_dir / trace, ec);
      continue;
    }
    ++counts["violations"], ++violations;
    found.push_back({{"case", f.run.test_name},
                     {"plan", f.plan},
                     {"fault", f.fault},
                     {"status", status_name(r.status)},
                     {"message", violation},
                     {"traces", r.traces},
                     {"reproducer", f.reproduce}});
  }
  for (std::size_t i = 0; i < summary.results.size() && i < runs.size(); ++i) {
    const CaseResult& r = summary.results[i];
    const FaultRun& run = runs[i];
    auto& counts = per_plan[run.faulted.plan];
    ++counts["runs"];
    if (r.status == Status::kSkipped) ++counts["skipped"], ++skipped;
    if (r.status == Status::kExpectedFailure) ++counts["known"], ++known;
    if (!is_failure(r.status)) continue;
    ++counts["violations"], ++violations;
    found.push_back({{"case", run.case_name},
                     {"plan", run.faulted.plan},
                     {"fault", run.faulted.fault},
                     {"line", run.faulted.line},
                     {"status", status_name(r.status)},
                     {"message", r.message},
                     {"traces", r.traces},
                     {"reproducer", run.file.string()}});
  }
  report["fault_points"] = points;
  report["unfaulted_runs"] = runs.size() - (points - compiled.size());
  report["violations"] = violations;
  report["skipped"] = skipped;
  report["known_divergences"] = known;
  report["per_plan"] = per_plan;
  report["found"] = found;
  report["not_faulted"] = nlohmann::json::array();
  for (const auto& c : divergent) report["not_faulted"].push_back(c.name);
  std::ofstream(options.report_dir / "faults.json") << report.dump(2) << "\n";

  const auto count = [](const std::map<std::string, std::size_t>& counts, const char* key) {
    return counts.contains(key) ? counts.at(key) : 0;
  };
  for (const auto& [plan, counts] : per_plan) {
    fmt::print("  {:<7} {:>6} runs, {} violations, {} known divergences, {} skipped\n", plan,
               count(counts, "runs"), count(counts, "violations"), count(counts, "known"),
               count(counts, "skipped"));
    if (counts.contains("passed") || counts.contains("failed, saying what it met"))
      fmt::print("          ({} passed whatever the fault, {} failed saying what they met)\n",
                 count(counts, "passed"), count(counts, "failed, saying what it met"));
  }
  fmt::print(
      "{} fault points, {} violations ({} known divergences, {} skipped) in {:.1f} s; "
      "report: {}\n",
      points, violations, known, skipped, seconds_since(campaign_start),
      (options.report_dir / "faults.json").string());
  if (summary.interrupted_by) return kInterruptedBase + summary.interrupted_by;
  return violations ? kSomeFailed : kAllPassed;
}

}  // namespace sockspec
