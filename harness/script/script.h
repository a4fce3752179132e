// A parsed scripted case: its header (rule, source, Linux note, catalogue rows, lit
// directives) and its lines, each a call by one actor with what Linux must answer, or an
// action of the environment on an actor. See cases/LANGUAGE.md.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "case/address.h"

namespace sockspec::script {

// A malformed script: "cases/x.case:12:7: error: unknown call 'sendd'; the calls are ..."
struct ScriptError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Where in the file something was written, for error messages: "file:line:column".
struct Position {
  int line = 0;
  int column = 0;
};

// An argument of a call.
struct Argument {
  enum class Kind {
    kVariable,     // an fd variable
    kInteger,      // a number or constants
    kBytes,        // "bytes"
    kAddress,      // a sockaddr_un
    kRights,       // SCM_RIGHTS(fd, ...)
    kCredentials,  // SCM_CREDENTIALS
    kPath,         // a filesystem path
    kIntegers,     // [3, 5]
    kByteStrings,  // ["ab", "cd"]
    kOptionValue,  // setsockopt's value, already encoded (the bytes)
    kHandler,      // SIG_DFL (0), SIG_IGN (1), catch (2)
  };
  Kind kind = Kind::kInteger;
  Position at;
  std::string variable;                // kVariable
  long integer = 0;                    // kInteger (constants are folded into this), kHandler
  std::string pid_of;                  // kInteger written pid(ACTOR): that actor's pid, at run time
  std::string text;                    // how it was written, for messages
  std::string bytes;                   // kBytes, kPath, kOptionValue
  std::optional<UnixAddress> address;  // kAddress, as written (abstract names unprefixed)
  bool abstract = false;               // kAddress: an abstract name, to be prefixed at run time
  std::string abstract_name;           // kAddress: the abstract name's bytes
  std::optional<socklen_t> explicit_addrlen;  // kAddress: "/addrlen=N"
  std::vector<std::string> rights;            // kRights: the fd variables to send
  std::vector<long> integers;                 // kIntegers
  std::vector<std::string> byte_strings;      // kByteStrings
};

// A field of a struct an expectation writes: {pid=server uid=0 gid=0}.
struct Field {
  std::string name;
  long value = 0;
  std::string actor;  // pid=ACTOR: that actor's pid, known only when the script runs
};

// What the line says Linux returns.
struct Expectation {
  // kObserved, "?": any result, recorded and left to the fault invariants (a faulted run's
  // lines after its fault point, where the script's own expectations no longer hold). A call
  // written so may also block; a later "ACTOR: ... = ?" then waits for it once more.
  enum class Kind { kSucceeds, kValue, kErrno, kBytes, kBlocks, kKilled, kStruct, kObserved };
  Kind kind = Kind::kSucceeds;
  Position at;
  std::string text;           // as written, for messages
  long value = 0;             // kValue, kBytes (when written explicitly)
  bool value_given = false;   // kBytes: "= 8 \"abc\"" rather than "= \"abc\""
  std::vector<int> errnos;    // kErrno: any of these
  std::string bytes;          // kBytes
  int signal = 0;             // kKilled
  std::vector<Field> fields;  // kStruct: getsockopt of a struct option
  // Optional attributes after the value.
  std::optional<int> msg_flags;          // flags=
  std::optional<UnixAddress> address;    // from= (recv*, accept), or the address (get*name)
  bool address_length_written = false;   // "/addrlen=N" was written: compare addrlen too
  std::vector<std::string> bind_rights;  // SCM_RIGHTS(x, y): names for received fds
  bool expect_credentials = false;       // SCM_CREDENTIALS(...)
  std::string credentials_pid_actor;     // pid=ACTOR
  std::optional<long> credentials_uid, credentials_gid;
  std::optional<int> revents;      // poll, select: revents=
  std::optional<long> signal_set;  // sigpending: the set, as a bit mask
  std::optional<std::vector<std::pair<std::string, int>>> events;  // epoll_wait: events=[a:X]
  std::optional<std::vector<std::string>> messages;                // recvmmsg: ["a", "bc"]
};

// An action of the environment on an actor, written where it happens:
//   reader: <- SIGUSR1                a signal arrives (kill(2) from outside)
//   writer: <- SIGKILL                the actor dies here
//   client: as uid=65534 gid=65534    the actor runs as that user from here (as nobody)
//   client: limit RLIMIT_NOFILE 4     setrlimit() of the soft limit
//   client: limit RLIMIT_NOFILE +2    room for exactly two more fds, whatever is open now
//   client: unshare net               the actor moves to a new network namespace
//   client: landlock scope abstract   the actor enters a Landlock domain from which abstract
//                                     sockets outside it cannot be reached
//   sender: inject ENOMEM into sendto the actor's next sendto fails so, without reaching
//                                     the kernel (strace -e inject)
struct Action {
  enum class Kind { kSignal, kAs, kLimit, kUnshareNet, kLandlockScope, kInject };
  Kind kind = Kind::kSignal;
  int signal = 0;         // kSignal
  long uid = 0, gid = 0;  // kAs
  int resource = 0;       // kLimit
  long limit = 0;         // kLimit
  bool room = false;      // kLimit "+N": N more fds (RLIMIT_NOFILE)
  int error = 0;          // kInject
  std::string syscall;  // kInject: the kernel's names for the call, strace's set ("accept,accept4")
};

enum class LineKind {
  kCall,        // ACTOR: [VAR =] CALL(...) [= EXPECTED]
  kFork,        // ACTOR: fork CHILD
  kThread,      // ACTOR: thread NAME
  kCompletion,  // ACTOR: ... = EXPECTED   (completes the call ACTOR is blocked in)
  kAction,      // ACTOR: <- SIG, as ..., limit ..., unshare net, landlock ..., inject ...
};

struct Line {
  LineKind kind = LineKind::kCall;
  Position at;
  std::string source;  // the line as written, without its comment
  std::string actor;
  std::string call;  // kCall: the call's name
  std::vector<Argument> arguments;
  std::vector<std::string> results;  // variables bound from the result (one or two)
  std::string new_actor;             // kFork, kThread: the child or the thread
  Action action;                     // kAction
  Expectation expect;
  std::string syscall;         // kCall: what libc calls it in the kernel, for /proc checks
  std::size_t completion = 0;  // for a blocking line: the index of its "..." line
  std::size_t blocked = 0;     // for a "..." line: the index of the line it completes
};

struct Script {
  std::string path;
  std::string rule;                            // the first comment line
  std::string source;                          // "# Source:"
  std::string linux_note;                      // "# Linux:"
  std::vector<std::string> catalogue;          // "# Catalogue: AR-07, AR-08"
  std::vector<std::string> see_also;           // "# See also: Kinds/EpipeTest.X, ..."
  std::vector<std::string> requires_features;  // "# REQUIRES:"
  // "# Fault: inject EINTR into sendto at line 12": a faulted run of a case (sockspec faults).
  // Its invariants are checked at the end (script/fault_invariants.h); empty for a plain case.
  std::string fault;
  std::vector<Line> lines;
  std::vector<std::string> actors;         // in order of first appearance
  std::vector<std::string> forked_actors;  // actors created by a fork or thread line
  std::vector<std::string> thread_actors;  // actors created by a thread line
};

}  // namespace sockspec::script
