// What a person or a CI log sees while cases run, and the summary at the end.
//   terminal: one progress line that rewrites itself; a failure is printed in full as it happens
//   pipe/file: one line per case ("PASS name (0.01 s)"), a failure in full under its line
// The last line is "N passed, N failed" (", N hung", ", N skipped" ... when there are any).
#pragma once

#include <cstdio>
#include <filesystem>

#include "runner/run_model.h"

namespace sockspec {

class Console {
 public:
  Console(std::FILE* out, std::size_t total, std::filesystem::path report_dir);
  void started(const CaseInfo& info);
  void finished(const CaseResult& result);
  void summary(const RunSummary& summary);

 private:
  void print_failure(std::string_view word, const CaseResult& result);
  void clear_progress();

  std::FILE* out_;
  bool terminal_;
  std::size_t total_;
  std::size_t done_ = 0, failed_ = 0, skipped_ = 0;
  std::filesystem::path report_dir_;
};

}  // namespace sockspec
