// Reads a scripted case into a Script, or says, with file:line:column, what is wrong.
#pragma once

#include <string>

#include "script/script.h"

namespace sockspec::script {

// Parses the file at `path`; throws ScriptError for any malformed line, and checks that
// every variable is defined in its actor before use and every expectation can apply.
Script parse_script_file(const std::string& path);
Script parse_script(const std::string& path, const std::string& text);

}  // namespace sockspec::script
