// Running one case in this process, from its request: what a child of the case server does
// right after fork(), and what a one-shot case process (a traced re-run) does after exec.
//
// A case may assume of its process: it is a fresh fork of the case server, which ran no
// case code and holds nothing but its line to the runner; it leads a session and process
// group of its own (unless strace leads it); its cwd is its private case dir; its
// environment is the server's plus the request's variables; every signal is at its default
// disposition and none is blocked; stdin is /dev/null and stdout and stderr go to the
// case's log. It is not a fresh exec: static state of the program (registered cases, rules)
// is what the server had at start.
#pragma once

#include "protocol/case_protocol.h"

namespace sockspec {

// Exit statuses of a case process. The ResultRecord is what the runner believes; these only
// matter when the process died before writing one.
constexpr int kCasePassed = 0;
constexpr int kCaseFailed = 1;
constexpr int kCaseSkipped = 77;

// Sets up the process as the request says, runs the case, writes its record and exits.
[[noreturn]] void run_case(const protocol::CaseRequest& request);

}  // namespace sockspec
