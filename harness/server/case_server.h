// The case server: what a case program is while the runner uses it. The runner execs it once
// per worker (inside the target's wrapper: one runsc, one qemu, one memcheck per worker) and
// sends it one case at a time; the server forks a fresh child per case (case_entry.h) and
// reports when it started and how it ended. The server runs no case code, has no threads,
// and holds nothing but its line to the runner (stdin for requests, stdout for replies) and
// the signalfd that tells it a child ended.
//
// It is a child subreaper: a process of the case whose parent died comes back to it, not to
// init. When the case's first process ends, whatever is left of the case (its process group,
// and every child the server inherited) is killed and reaped before "ended" is sent, so the
// next case starts with nothing of the last one around.
#pragma once

namespace sockspec {

// Serves until stdin closes; returns the program's exit status.
int serve_cases();

}  // namespace sockspec
