// The files a run leaves in its report dir: junit.xml for CI systems, results.json for
// tools (and, later, for merging runs from several machines into one matrix).
#pragma once

#include <filesystem>

#include "runner/run_model.h"

namespace sockspec {

void write_junit(const RunSummary& summary, const std::filesystem::path& report_dir);
void write_results_json(const RunSummary& summary, const std::filesystem::path& report_dir);

}  // namespace sockspec
