#include "runner/presentation/markup_escape.h"

#include <fmt/format.h>

namespace sockspec {

std::string escape_markup(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          out += fmt::format("\\x{:02x}", c);
        else
          out += c;
    }
  }
  return out;
}

}  // namespace sockspec
