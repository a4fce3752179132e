// The calls of the case language, each described once: what it takes, what it can bind, the
// syscall the kernel sees, whether it can block, and which result attributes apply. The
// parser, the interpreter, their error messages and the reference section of
// cases/LANGUAGE.md all read this table; the actor program (harness/c_actor/actor.c) makes
// the call. Adding a call is one entry here and one function there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sockspec::script {

// What an argument is, as a call's parameter.
enum class Param : char {
  kFd = 'v',           // an fd variable of the actor
  kInt = 'i',          // a number or constants: 5, MSG_PEEK|MSG_DONTWAIT
  kBytes = 'b',        // "bytes", "x" * 100
  kAddress = 'a',      // "path", @"abstract", unnamed, with /addrlen=N
  kControl = 'r',      // SCM_RIGHTS(fd, ...) or SCM_CREDENTIALS (any number, at the end)
  kOptionValue = 'o',  // setsockopt's value: a number, {field=value ...}, or "raw bytes"
  kPath = 'p',         // a filesystem path: "srv", "/tmp"
  kLengths = 'l',      // [3, 5]: buffer lengths (readv, recvmmsg)
  kBytesList = 'B',    // ["ab", "cd"]: buffers (writev, sendmmsg)
  kHandler = 'h',      // SIG_DFL, SIG_IGN or catch (a handler that does nothing)
};

// Result attributes a call can have besides its value (Attribute bits).
enum Attribute : unsigned {
  kFrom = 1u << 0,            // from=ADDRESS: the peer address received
  kMsgFlags = 1u << 1,        // flags=: recvmsg's msg_flags
  kRevents = 1u << 2,         // revents=: poll's (and select's) ready events
  kReceivesFds = 1u << 3,     // SCM_RIGHTS(x, y): fds received, bound to names
  kReceivesCreds = 1u << 4,   // SCM_CREDENTIALS(pid=, uid=, gid=)
  kAddressValue = 1u << 5,    // = 0 "srv": the address getsockname/getpeername returned
  kOptionResult = 1u << 6,    // = 4096, = {pid=server uid=0 gid=0}: getsockopt's value
  kSignalSet = 1u << 7,       // = SIGPIPE|SIGUSR1, = none: sigpending's set
  kEvents = 1u << 8,          // events=[a:EPOLLIN]: epoll_wait's events
  kMessages = 1u << 9,        // = 2 ["a", "bc"]: recvmmsg's messages
  kReceivesBytes = 1u << 10,  // = "bytes", = eof: what a receive returned
  kFileMode = 1u << 11,       // = S_IFSOCK|0777: the value is an st_mode, shown so
  kMagicNumber = 1u << 12     // = SOCKFS_MAGIC: the value is a filesystem's magic, shown in hex
};

struct Call {
  std::string_view name;
  std::string_view params;  // Param letters
  std::size_t required;     // parameters after these are optional
  int binds;                // fds the result binds to variables (0, 1 or 2)
  bool can_block;           // "= ..." applies
  // What the kernel sees for the call, for "blocked in" (x86-64 names, '|' between): the
  // system calls a libc makes for it, and those an emulator makes instead (qemu-user makes
  // recvmmsg() a loop of recvmsg() and accept() an accept4()).
  std::string_view syscall;
  unsigned attributes;         // Attribute bits
  std::string_view signature;  // for people: "recv(fd, len, flags)"
  std::string_view meaning;    // for people: one line
};

const std::vector<Call>& calls();
const Call* find_call(std::string_view name);
// The call closest to a misspelt name ("sendd" -> "send"), or "".
std::string nearest_call(std::string_view name);
// The reference table of cases/LANGUAGE.md ("| call | result | meaning |" rows).
std::string calls_reference();

}  // namespace sockspec::script
