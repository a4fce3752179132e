// The errors the man pages document for each call of the case language: the ERRORS section
// of the call's own page (man-pages 6.03), plus unix(7)'s for the socket calls, since send(2),
// recv(2) and the others leave "other errors" to the protocol. socket(7) has no ERRORS
// section; the errors it names inline (EAGAIN on a timeout, EPIPE, ...) are in the call pages.
// "Run-time" errors are those a correct program can meet when its environment or its peer
// changes (shortage, interruption, would-block, peer gone, permissions, limits), as opposed to
// the caller's mistakes (EBADF, EFAULT, EINVAL, ENOTSOCK, EISCONN, ENAMETOOLONG, ...).
#pragma once

#include <string_view>
#include <vector>

namespace sockspec::script {

struct DocumentedErrors {
  std::vector<int> all;       // every errno the call's pages list
  std::vector<int> run_time;  // those a correct program can meet at run time (a subset of all)
  std::string_view pages;     // where they are listed: "send(2), unix(7)"
};

// The documented errors of `call` (a name from calls.cc); nullptr for an unknown call.
const DocumentedErrors* documented_errors(std::string_view call);
// Whether `err` is among the documented errors of `call` (false for an unknown call).
bool documents(std::string_view call, int err);
// Whether Linux is known to fail `call` with `err` though its pages do not say so (a finding
// recorded in ci/FINDINGS.md).
bool undocumented_on_linux(std::string_view call, int err);

}  // namespace sockspec::script
