#include "os/quote.h"

#include <fmt/format.h>

namespace sockspec {

std::string quote_bytes(std::string_view bytes, std::size_t limit) {
  std::string out = "\"";
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\0':
        out += "\\0";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c >= 0x20 && c < 0x7f)
          out += static_cast<char>(c);
        else
          out += fmt::format("\\x{:02x}", c);
    }
  }
  out += '"';
  if (bytes.size() > limit) out += fmt::format("...({} bytes)", bytes.size());
  return out;
}

std::string script_bytes(std::string_view bytes) {
  constexpr std::size_t kShortestRepeat = 8;  // a shorter run reads better written out
  std::string out;
  std::size_t literal_start = 0;
  auto add_piece = [&out](std::string piece) {
    if (!out.empty()) out += " + ";
    out += piece;
  };
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t run = 1;
    while (i + run < bytes.size() && bytes[i + run] == bytes[i]) ++run;
    if (run >= kShortestRepeat) {
      if (i > literal_start)
        add_piece(quote_bytes(bytes.substr(literal_start, i - literal_start), bytes.size()));
      add_piece(fmt::format("{} * {}", quote_bytes(bytes.substr(i, 1)), run));
      literal_start = i + run;
    }
    i += run;
  }
  if (literal_start < bytes.size() || out.empty())
    add_piece(quote_bytes(bytes.substr(literal_start), bytes.size()));
  return out;
}

}  // namespace sockspec
