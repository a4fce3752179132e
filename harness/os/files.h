// Whole-file reads and writes, for the small text files the project passes between its
// processes (result records, logs, probe results, /proc entries).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace sockspec {

// The file's bytes; "" when it cannot be read (missing, unreadable).
std::string read_file(const std::filesystem::path& path);
// Writes `text` as the whole file; false when it cannot.
bool write_file(const std::filesystem::path& path, const std::string& text);
// The last `lines` non-empty lines of a log, each under "  | ", headed by the file's name:
// what to put under a failure when the log itself will be gone with the case dir.
std::string log_tail(const std::filesystem::path& path, std::size_t lines = 15);

}  // namespace sockspec
