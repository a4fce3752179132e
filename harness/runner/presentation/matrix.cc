#include "runner/presentation/matrix.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runner/presentation/markup_escape.h"
#include "runner/runner_error.h"

namespace sockspec {

namespace {

namespace fs = std::filesystem;

const char* const kStatuses[] = {"passed", "failed",  "hung",       "xfail",
                                 "xpass",  "skipped", "interrupted"};

[[noreturn]] void unreadable(const fs::path& file, std::string_view problem) {
  throw RunnerError(
      fmt::format("cannot read {}: {}; pass results.json files written by `sockspec run`",
                  file.string(), problem));
}

MatrixColumn load_column(const fs::path& file, Matrix& m) {
  std::ifstream in(file);
  if (!in) unreadable(file, std::strerror(errno));
  MatrixColumn col;
  col.results_dir = fs::absolute(file).parent_path().lexically_normal();
  const std::size_t index = m.columns.size();
  try {
    const nlohmann::json doc = nlohmann::json::parse(in);
    if (!doc.is_object()) unreadable(file, "not a JSON object");
    col.target = doc.at("target").get<std::string>();
    col.target_version = doc.value("target_version", "");
    col.kernel = doc.value("kernel", "");
    col.libc = doc.value("libc", "");
    col.host = doc.value("host", "");
    col.seconds = doc.value("seconds", 0.0);
    for (const char* status : kStatuses) col.counts[status] = 0;
    if (!doc.at("cases").is_array()) unreadable(file, "\"cases\" is not an array");
    for (const auto& c : doc.at("cases")) {
      const auto name = c.at("name").get<std::string>();
      MatrixCell cell{.status = c.at("status").get<std::string>(),
                      .message = c.value("message", ""),
                      .traces = {},
                      .expected = c.value("expected", "")};
      if (!col.counts.contains(cell.status))
        unreadable(file, fmt::format("case {} has an unknown status \"{}\"", name, cell.status));
      ++col.counts[cell.status];
      for (const auto& trace : c.value("traces", std::vector<std::string>{}))
        cell.traces.push_back((col.results_dir / trace).lexically_normal().string());
      if (!m.cells.contains(name)) m.case_names.push_back(name);
      auto& row = m.cells[name];
      row.resize(index + 1);
      row[index] = std::move(cell);
      if (const auto rule = c.value("rule", ""); !rule.empty()) m.rules.emplace(name, rule);
    }
  } catch (const nlohmann::json::exception& e) {
    // Drop the "[json.exception.parse_error.101] " prefix: the file name says enough.
    std::string_view what = e.what();
    if (what.starts_with('[')) what.remove_prefix(std::min(what.find("] ") + 2, what.size()));
    unreadable(file, what);
  }
  return col;
}

// Two runs of one target (on two machines, or two kernels) must still be told apart.
void label_columns(std::vector<MatrixColumn>& columns) {
  for (auto& c : columns) {
    const auto shared = std::count_if(columns.begin(), columns.end(),
                                      [&](const auto& o) { return o.target == c.target; });
    c.label = c.target;
    const std::string& where = c.host.empty() ? c.kernel : c.host;
    if (shared > 1 && !where.empty()) c.label += fmt::format(" ({})", where);
  }
  for (std::size_t i = 0; i < columns.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (columns[j].label == columns[i].label) columns[i].label += fmt::format(" #{}", i + 1);
}

std::string_view word(const std::optional<MatrixCell>& cell) {
  if (!cell) return "-";
  if (cell->status == "passed") return "pass";
  if (cell->status == "failed") return "FAIL";
  if (cell->status == "hung") return "HUNG";
  if (cell->status == "interrupted") return "int";
  if (cell->status == "xpass") return "XPASS";
  if (cell->status == "skipped") return "skip";
  return cell->status;  // xfail
}

// What the terminal form hides: a case with one status on every target that ran it, and not
// a failure. A target that did not run the case (the musl target runs only the scripted
// ones, a merged file may hold a subset) says nothing about it.
bool same_everywhere(const std::vector<std::optional<MatrixCell>>& row) {
  const MatrixCell* first = nullptr;
  for (const auto& cell : row) {
    if (!cell) continue;
    if (cell->status == "failed" || cell->status == "hung" || cell->status == "xpass") return false;
    if (!first) first = &*cell;
    if (cell->status != first->status) return false;
  }
  return true;
}

std::vector<std::string> summary_header() {
  return {"target", "version", "kernel", "libc",  "seconds", "passed",
          "failed", "hung",    "xfail",  "xpass", "skipped", "interrupted"};
}

std::vector<std::string> summary_row(const MatrixColumn& c) {
  std::vector<std::string> row = {c.label, c.target_version, c.kernel, c.libc,
                                  fmt::format("{:.1f}", c.seconds)};
  for (const char* status : kStatuses) row.push_back(std::to_string(c.counts.at(status)));
  return row;
}

// Terminal columns, not bytes: "…" is three bytes wide in UTF-8 and one column on screen.
std::size_t width(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

std::string pad(std::string_view s, std::size_t w, bool right = false) {
  const std::string fill(w > width(s) ? w - width(s) : 0, ' ');
  return right ? fill + std::string(s) : std::string(s) + fill;
}

// Case names share a long prefix per suite; their ends tell them apart, so keep those.
std::string cut_left(const std::string& s, std::size_t w) {
  if (s.size() <= w) return s;
  return "…" + s.substr(s.size() - (w - 1));
}

// The trace as a link from the page's directory, with what a URL can't hold %-escaped.
std::string trace_link(const std::string& trace, const fs::path& dir) {
  std::string rel = fs::path(trace).lexically_relative(fs::absolute(dir).lexically_normal());
  if (rel.empty()) rel = trace;
  std::string out;
  for (unsigned char c : rel) {
    if (std::isalnum(c) || std::strchr("/._-~", c))
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

// A Markdown table cell: one line, and `|` would end the cell.
std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else
      out += (c == '\n' ? ' ' : c);
  }
  return out;
}

}  // namespace

Matrix load_matrix(const std::vector<fs::path>& results_files) {
  Matrix m;
  for (const auto& given : results_files) {
    // A report dir is the natural thing to pass too: take the results.json in it.
    fs::path file = given;
    if (fs::is_directory(file)) {
      file /= "results.json";
      if (!fs::exists(file)) unreadable(given, "it is a directory with no results.json");
    }
    m.columns.push_back(load_column(file, m));
  }
  // Pad every row to one cell per column: nullopt where the case did not run.
  for (auto& [name, row] : m.cells) row.resize(m.columns.size());
  label_columns(m.columns);
  return m;
}

void write_matrix_text(const Matrix& m, std::FILE* out, bool color) {
  // The summary: text columns left-aligned, numbers right-aligned.
  std::vector<std::vector<std::string>> rows = {summary_header()};
  for (const auto& c : m.columns) rows.push_back(summary_row(c));
  std::vector<std::size_t> w(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], width(row[i]));
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) line += pad(row[i], w[i], i >= 4) + "  ";
    fmt::print(out, "{}\n", line.substr(0, line.find_last_not_of(' ') + 1));
  }

  // The cases: rows stay within ~150 columns, so long names give way on the left.
  std::vector<std::size_t> col_w;
  std::size_t cells_w = 0, name_w = 4;
  for (const auto& c : m.columns)
    cells_w += col_w.emplace_back(std::max<std::size_t>(width(c.label), 5)) + 2;
  std::size_t shown = 0, hidden = 0;
  std::set<std::string_view> hidden_words;
  for (const auto& name : m.case_names) {
    if (same_everywhere(m.cells.at(name))) continue;
    name_w = std::max(name_w, name.size());
  }
  name_w = std::min(name_w, std::max<std::size_t>(40, 150 > cells_w ? 150 - cells_w : 0));
  std::string header = pad("case", name_w);
  for (std::size_t i = 0; i < m.columns.size(); ++i)
    header += "  " + pad(m.columns[i].label, col_w[i]);
  for (const auto& name : m.case_names) {
    const auto& row = m.cells.at(name);
    if (same_everywhere(row)) {
      ++hidden;
      for (const auto& cell : row)
        if (cell) {
          hidden_words.insert(word(cell));
          break;
        }
      continue;
    }
    if (shown++ == 0) fmt::print(out, "\n{}\n", header);
    std::string line = pad(cut_left(name, name_w), name_w);
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string_view text = word(row[i]);
      const char* ansi = text == "FAIL" || text == "XPASS" ? "\033[31m"
                         : text == "xfail"                 ? "\033[33m"
                         : text == "skip"                  ? "\033[2m"
                                                           : "";
      // Pad outside the escapes, or they would count toward the width.
      if (color && *ansi)
        line += fmt::format("  {}{}\033[0m", ansi, text) + pad("", col_w[i] - text.size());
      else
        line += "  " + pad(text, col_w[i]);
    }
    fmt::print(out, "{}\n", line.substr(0, line.find_last_not_of(' ') + 1));
  }
  if (shown == 0) fmt::print(out, "\nNo case differs between targets, and none failed.\n");
  if (hidden > 0) {
    std::string words;
    for (auto hidden_word : hidden_words)
      words += fmt::format("{}{}", words.empty() ? "" : ", ", hidden_word);
    fmt::print(
        out,
        "\n{} cases identical on every target ({}) are not shown; see matrix.md / matrix.html\n",
        hidden, words);
  }
}

std::string matrix_markdown(const Matrix& m, const fs::path& dir) {
  std::string md = "# sockspec conformance matrix\n\n|";
  for (const auto& h : summary_header()) md += fmt::format(" {} |", h);
  md += "\n|";
  for (std::size_t i = 0; i < summary_header().size(); ++i) md += i < 4 ? " --- |" : " ---: |";
  for (const auto& c : m.columns) {
    md += "\n|";
    for (const auto& field : summary_row(c)) md += fmt::format(" {} |", md_escape(field));
  }
  md += "\n\n## Cases\n\n| case |";
  for (const auto& c : m.columns) md += fmt::format(" {} |", md_escape(c.label));
  md += "\n| --- |";
  for (std::size_t i = 0; i < m.columns.size(); ++i) md += " :-: |";
  for (const auto& name : m.case_names) {
    md += fmt::format("\n| `{}` |", md_escape(name));
    for (const auto& cell : m.cells.at(name)) {
      const std::string_view text = word(cell);
      if (cell && cell->status != "passed" && !cell->traces.empty())
        md += fmt::format(" [{}]({}) |", text, trace_link(cell->traces.front(), dir));
      else
        md += fmt::format(" {} |", text);
    }
  }
  md +=
      "\n\npass: passed · FAIL: failed (the link opens its strace) · HUNG: every process "
      "asleep with nothing to wake it, ended before its deadline · xfail: failed as its "
      "expectation entry says · XPASS: passed although expected to fail · skip: skipped · "
      "int: stopped by an interrupted run · -: not run on that target\n";
  return md;
}

std::string matrix_html(const Matrix& m, const fs::path& dir) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<title>sockspec conformance matrix</title>\n<style>\n"
      "body { font-family: sans-serif; margin: 1.5em; }\n"
      "table { border-collapse: collapse; margin-bottom: 1em; }\n"
      "th, td { border: 1px solid #ccc; padding: 2px 8px; }\n"
      "th { background: #f4f4f4; position: sticky; top: 0; }\n"
      "td.num { text-align: right; } td.name { font-family: monospace; }\n"
      "td.passed { background: #e3f4e3; } td.failed { background: #f6c6c6; font-weight: bold; }\n"
      "td.xfail { background: #fcefc0; } td.xpass { background: #f6c6c6; font-weight: bold; }\n"
      "td.hung { background: #e8c6f6; font-weight: bold; } td.interrupted { color: #777; }\n"
      "td.skipped { background: #eee; color: #777; } td.none { color: #aaa; }\n"
      "td.passed, td.failed, td.hung, td.xfail, td.xpass, td.skipped, td.interrupted, td.none "
      "{ text-align: center; }\n"
      // The filter is a plain checkbox: CSS hides the identical rows, no script needed.
      "#only-diff:checked ~ table tr.same { display: none; }\n"
      "</style></head><body>\n<h1>sockspec conformance matrix</h1>\n<table>\n<tr>";
  for (const auto& head : summary_header()) h += fmt::format("<th>{}</th>", head);
  for (const auto& c : m.columns) {
    h += "</tr>\n<tr>";
    const auto row = summary_row(c);
    for (std::size_t i = 0; i < row.size(); ++i)
      h += fmt::format("<td{}>{}</td>", i >= 4 ? " class=\"num\"" : "", escape_markup(row[i]));
  }
  const auto differ = std::count_if(m.case_names.begin(), m.case_names.end(),
                                    [&](const auto& n) { return !same_everywhere(m.cells.at(n)); });
  h += fmt::format(
      "</tr>\n</table>\n<input type=\"checkbox\" id=\"only-diff\"><label for=\"only-diff\"> "
      "show only the {} of {} cases that differ between targets or fail</label>\n"
      "<table>\n<tr><th>case</th>",
      differ, m.case_names.size());
  for (const auto& c : m.columns) {
    std::string about = c.target_version.empty() ? c.target : c.target_version;
    for (const auto& part : {"kernel " + c.kernel, c.libc, c.host})
      if (part != "kernel " && !part.empty()) about += ", " + part;
    h += fmt::format("<th title=\"{}\">{}</th>", escape_markup(about), escape_markup(c.label));
  }
  h += "</tr>\n";
  for (const auto& name : m.case_names) {
    const auto& row = m.cells.at(name);
    const auto rule = m.rules.find(name);
    h += fmt::format("<tr{}><td class=\"name\" title=\"{}\">{}</td>",
                     same_everywhere(row) ? " class=\"same\"" : "",
                     escape_markup(rule == m.rules.end() ? "" : rule->second), escape_markup(name));
    for (const auto& cell : row) {
      if (!cell) {
        h += "<td class=\"none\" title=\"not run on this target\">-</td>";
        continue;
      }
      std::string title = cell->expected.empty() ? "" : "expected: " + cell->expected + "\n";
      title += cell->message;
      std::string text = escape_markup(word(cell));
      if (cell->status != "passed" && !cell->traces.empty())
        text = fmt::format("<a href=\"{}\">{}</a>",
                           escape_markup(trace_link(cell->traces.front(), dir)), text);
      // A title only where there is something to say: most of the 780 rows are plain passes.
      h += fmt::format("<td class=\"{}\"{}>{}</td>", escape_markup(cell->status),
                       title.empty() ? "" : " title=\"" + escape_markup(title) + "\"", text);
    }
    h += "</tr>\n";
  }
  h += "</table>\n<p>pass: passed · FAIL: failed (the link opens its strace) · HUNG: every "
       "process asleep with nothing to wake it, ended before its deadline · xfail: failed as "
       "its expectation entry says · XPASS: passed although expected to fail · skip: skipped · "
       "int: stopped by an interrupted run · -: not run on that target. Hover over a cell for "
       "its message.</p>\n</body></html>\n";
  return h;
}

}  // namespace sockspec
