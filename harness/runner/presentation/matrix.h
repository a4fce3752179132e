// The conformance matrix: several `sockspec run` results.json files (one per target or
// machine) side by side, case by case, as terminal text, Markdown and one HTML page.
#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sockspec {

struct MatrixColumn {
  // The target, plus " (host)" (or " (kernel)" when hosts are absent) when two columns
  // share a target.
  std::string label;
  std::string target, target_version, kernel, libc, host;
  double seconds = 0;
  std::map<std::string, int> counts;  // status -> cases; all five statuses are present
  std::filesystem::path results_dir;  // absolute: where the file's relative trace paths start
};

struct MatrixCell {
  std::string status;  // passed, failed, skipped, xfail or xpass
  std::string message;
  std::vector<std::string> traces;  // absolute paths
  std::string expected;
};

struct Matrix {
  std::vector<MatrixColumn> columns;
  std::vector<std::string> case_names;  // the union, in first-seen order
  // case -> one cell per column; nullopt: the case did not run on that column's target.
  std::map<std::string, std::vector<std::optional<MatrixCell>>> cells;
  std::map<std::string, std::string> rules;  // case -> the rule it checks, where one is given
};

// Throws RunnerError naming the file for one that is missing, unreadable or not a results.json.
Matrix load_matrix(const std::vector<std::filesystem::path>& results_files);

// A summary per column, then only the cases that differ between columns or fail anywhere.
void write_matrix_text(const Matrix& matrix, std::FILE* out, bool color);
// Every case; trace links are relative to the directory the page is written to.
std::string matrix_markdown(const Matrix& matrix, const std::filesystem::path& written_to_dir);
std::string matrix_html(const Matrix& matrix, const std::filesystem::path& written_to_dir);

}  // namespace sockspec
