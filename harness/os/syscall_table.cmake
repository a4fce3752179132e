# Turns <asm/unistd_64.h> into a C++ table of (number, name), so that a report can say
# "blocked in recvfrom" where /proc/PID/syscall only says "45".
file(STRINGS "${UNISTD_H}" defines REGEX "^#define __NR_[a-z0-9_]+ [0-9]+$")
set(rows "")
foreach(line IN LISTS defines)
  string(REGEX REPLACE "^#define __NR_([a-z0-9_]+) ([0-9]+)$" "  {\\2, \"\\1\"},\n" row "${line}")
  string(APPEND rows "${row}")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${UNISTD_H}; do not edit.
#include <cstddef>
#include <utility>
namespace sockspec {
extern const std::pair<long, const char*> kSyscallTable[] = {
${rows}};
extern const std::size_t kSyscallTableSize = sizeof(kSyscallTable) / sizeof(kSyscallTable[0]);
}  // namespace sockspec
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
