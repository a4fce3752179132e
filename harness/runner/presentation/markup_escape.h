// Text inside XML (the JUnit report) or HTML (the matrix page): attribute values and
// element content alike.
#pragma once

#include <string>
#include <string_view>

namespace sockspec {

// & < > " ' as entities; control characters other than newline and tab, which XML 1.0 has
// no way to write, shown as \xNN.
std::string escape_markup(std::string_view text);

}  // namespace sockspec
