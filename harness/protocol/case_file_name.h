// The file-name form of a case's GoogleTest name, shared by the harness (which names the
// traces of injected peers) and the runner (which names every other trace):
// "Kinds/EagainTest.RecvOnEmpty/stream_socketpair" ->
// "Kinds-EagainTest.RecvOnEmpty-stream_socketpair".
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace sockspec {

inline std::string case_file_name(std::string_view case_name) {
  std::string out;
  for (char c : case_name) {
    if (c == '/')
      out += '-';
    else if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')
      out += c;
    else
      out += '_';
  }
  return out;
}

}  // namespace sockspec
