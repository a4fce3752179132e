// Bytes as a C-style string literal, so NULs and binary data stay visible in a message.
#pragma once

#include <string>
#include <string_view>

namespace sockspec {

// "ab\0c\n" for those five bytes; inputs longer than `limit` end in `..."(N bytes)`.
std::string quote_bytes(std::string_view bytes, std::size_t limit = 64);

// All of the bytes in the case language's form, a run of one byte written as a repeat:
// "ab" + "x" * 4032 + "c".
std::string script_bytes(std::string_view bytes);

}  // namespace sockspec
