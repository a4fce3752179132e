// A cursor over one line of a script: tokens (names, numbers, string literals,
// punctuation) with their columns, and errors that say file:line:column.
#pragma once

#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "script/script.h"

namespace sockspec::script {

// A cursor over one line of script, with positions for errors.
class LineReader {
 public:
  LineReader(const std::string& path, int line_number, std::string_view text)
      : path_(path), line_(line_number), text_(text) {}

  [[noreturn]] void fail(int column, const std::string& what) const {
    throw ScriptError(fmt::format("{}:{}:{}: error: {}", path_, line_, column, what));
  }
  [[noreturn]] void fail(const std::string& what) { fail(column(), what); }
  // The column of the next thing to read (spaces before it do not count).
  int column() {
    skip_space();
    return static_cast<int>(pos_) + 1;
  }
  Position here() { return {line_, column()}; }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool at_end() {
    skip_space();
    return pos_ >= text_.size();
  }
  char peek() {
    skip_space();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool accept(std::string_view punct) {
    skip_space();
    if (text_.substr(pos_, punct.size()) != punct) return false;
    pos_ += punct.size();
    return true;
  }
  void expect(std::string_view punct, std::string_view what) {
    if (!accept(punct)) fail(fmt::format("expected '{}' {}", punct, what));
  }
  bool looking_at(std::string_view text) {
    skip_space();
    return text_.substr(pos_, text.size()) == text;
  }
  bool at_identifier() {
    const char c = peek();
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
  }
  std::string identifier(std::string_view what) {
    if (!at_identifier()) fail(fmt::format("expected {}", what));
    const std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  bool at_integer() {
    const char c = peek();
    return std::isdigit(static_cast<unsigned char>(c)) ||
           (c == '-' && pos_ + 1 < text_.size() &&
            std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])));
  }
  long integer() {
    skip_space();
    const std::size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && std::isalnum(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    const std::string digits(text_.substr(start, pos_ - start));
    last_integer_ = digits;
    try {
      std::size_t used = 0;
      const long value = std::stol(digits, &used, 0);
      if (used != digits.size()) throw std::invalid_argument(digits);
      return value;
    } catch (const std::exception&) {
      fail(static_cast<int>(start) + 1, fmt::format("'{}' is not a number", digits));
    }
  }
  // The last integer() as it was written ("0x100", "0755"), for messages.
  const std::string& last_integer() const { return last_integer_; }
  bool at_string() { return peek() == '"'; }
  // A C-style string literal: \0 \n \t \r \\ \" \xNN.
  std::string string_literal() {
    skip_space();
    const int start = column();
    ++pos_;  // the opening quote
    std::string out;
    while (true) {
      if (pos_ >= text_.size())
        fail(start, "string not closed: expected '\"' before the end of the line");
      const char c = text_[pos_++];
      if (c == '"') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail(start, "string not closed: a '\\' ends the line");
      const char e = text_[pos_++];
      switch (e) {
        case '0':
          out += '\0';
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case 'x': {
          const std::string hex(text_.substr(pos_, 2));
          if (hex.size() != 2 || !std::isxdigit(static_cast<unsigned char>(hex[0])) ||
              !std::isxdigit(static_cast<unsigned char>(hex[1])))
            fail(column() - 2, "'\\x' needs two hex digits");
          out += static_cast<char>(std::stoi(hex, nullptr, 16));
          pos_ += 2;
          break;
        }
        default:
          fail(column() - 2,
               fmt::format("unknown escape '\\{}'; use \\0 \\n \\t \\r \\\\ \\\" or \\xNN", e));
      }
    }
    return out;
  }

 private:
  const std::string& path_;
  int line_;
  std::string_view text_;
  std::size_t pos_ = 0;
  std::string last_integer_;
};

}  // namespace sockspec::script
