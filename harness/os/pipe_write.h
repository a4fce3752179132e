// Writing to a pipe whose reader may have died, without dying of it.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace sockspec {

// write(2) that reports a reader gone as EPIPE and nothing else: the SIGPIPE the write raises
// is blocked for the call and taken back (one that was pending before is left alone). Nothing
// of sockspec ignores SIGPIPE: what it does to a writer is under test, so the runner and every
// case keep its default action.
ssize_t write_without_sigpipe(int fd, const void* data, std::size_t size);

// Takes every SIGPIPE pending for this process or thread (the caller has it blocked).
void take_pending_sigpipes();

}  // namespace sockspec
