#include "runner/fault_campaign.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runner/engine/case_list.h"
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

}  // namespace

int run_fault_campaign(const std::vector<CaseInfo>& cases, const std::vector<std::string>& plans,
                       const RunOptions& options) {
  std::vector<CaseInfo> faulted_here, divergent;
  std::size_t not_scripted = 0;
  for (const auto& c : cases) {
    if (!c.scripted()) ++not_scripted;
    // A case the target's table lists fails there as written: faulting it would report the
    // known divergence again, once per fault point.
    else if (listed_in(options.expectations, c.name))
      divergent.push_back(c);
    else
      faulted_here.push_back(c);
  }
  if (faulted_here.empty())
    throw RunnerError("no scripted case to fault; --filter chooses among `sockspec list`");

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

  std::size_t points = 0;
  for (const auto& run : runs) points += run.faulted.plan != "none";
  fmt::print("{} cases, {} fault points ({}), {} unfaulted runs{}\n", faulted_here.size(), points,
             fmt::join(plans, ", "), runs.size() - points,
             options.target ? " on " + options.target->name : "");
  if (not_scripted)
    fmt::print("{} GoogleTest cases are not faulted: the plans rewrite scripted cases\n",
               not_scripted);
  for (const auto& c : divergent)
    fmt::print("not faulted, a known divergence of the target: {}\n", c.name);
  std::fflush(stdout);

  // Only a violation is printed in full as it comes; the rest is counted. The target's
  // table applies to the faulted runs too: an entry for `faults/...` names a known
  // divergence the campaign meets again (gVisor's EINTR under SA_RESTART at every blocked
  // call), which is then an expected failure, not a violation.
  std::size_t done = 0;
  const RunOptions& campaign = options;
  const RunObserver observer{
      [](const CaseInfo&) {},
      [&](const CaseResult& r) {
        ++done;
        if (is_failure(r.status)) {
          std::string text = failure_text(r, options.report_dir);
          for (std::size_t at = 0; (at = text.find('\n', at)) != std::string::npos; at += 5)
            text.replace(at, 1, "\n    ");
          fmt::print("VIOLATION {}\n    {}\n    reproduce: sockspec script {}\n", r.info.name, text,
                     r.info.script);
        }
        if (done % 1000 == 0) fmt::print("[{}/{}]\n", done, runs.size());
        std::fflush(stdout);
      }};
  const RunSummary summary = run_cases(infos, campaign, observer);

  // faults.json: per plan, the points, violations and skips; per violation, everything needed
  // to see it again.
  nlohmann::json report{{"target", summary.target},     {"target_version", summary.target_version},
                        {"libc", summary.libc},         {"plans", plans},
                        {"cases", faulted_here.size()}, {"seconds", summary.seconds}};
  std::map<std::string, std::map<std::string, std::size_t>> per_plan;
  std::size_t violations = 0, skipped = 0, known = 0;
  nlohmann::json found = nlohmann::json::array();
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
  report["unfaulted_runs"] = runs.size() - points;
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
  for (const auto& [plan, counts] : per_plan)
    fmt::print("  {:<7} {:>6} runs, {} violations, {} known divergences, {} skipped\n", plan,
               count(counts, "runs"), count(counts, "violations"), count(counts, "known"),
               count(counts, "skipped"));
  fmt::print(
      "{} fault points, {} violations ({} known divergences, {} skipped) in {:.1f} s; "
      "report: {}\n",
      points, violations, known, skipped, summary.seconds,
      (options.report_dir / "faults.json").string());
  if (summary.interrupted_by) return kInterruptedBase + summary.interrupted_by;
  return violations ? kSomeFailed : kAllPassed;
}

}  // namespace sockspec
