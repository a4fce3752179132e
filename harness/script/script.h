// A parsed scripted case: its header (rule, source, Linux note, lit directives) and its
// lines, each a call by one actor with what Linux must answer. See cases/LANGUAGE.md.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "case/address.h"

namespace sockspec::script {

// Where in the file something was written, for error messages: "file:line:column".
struct Position {
  int line = 0;
  int column = 0;
};

// An argument of a call.
struct Argument {
  enum class Kind { kVariable, kInteger, kBytes, kAddress, kRights, kCredentials };
  Kind kind = Kind::kInteger;
  Position at;
  std::string variable;                // kVariable
  long integer = 0;                    // kInteger (constants are folded into this)
  std::string text;                    // kInteger: how it was written ("MSG_DONTWAIT|MSG_PEEK")
  std::string bytes;                   // kBytes
  std::optional<UnixAddress> address;  // kAddress, as written (abstract names unprefixed)
  bool abstract = false;               // kAddress: an abstract name, to be prefixed at run time
  std::string abstract_name;           // kAddress: the abstract name's bytes
  std::optional<socklen_t> explicit_addrlen;  // kAddress: "/addrlen=N"
  std::vector<std::string> rights;            // kRights: the fd variables to send
};

// What the line says Linux returns.
struct Expectation {
  enum class Kind { kSucceeds, kValue, kErrno, kBytes, kBlocks, kKilled };
  Kind kind = Kind::kSucceeds;
  Position at;
  std::string text;          // as written, for messages
  long value = 0;            // kValue, kBytes (when written explicitly)
  bool value_given = false;  // kBytes: "= 8 \"abc\"" rather than "= \"abc\""
  std::vector<int> errnos;   // kErrno: any of these
  std::string bytes;         // kBytes
  int signal = 0;            // kKilled
  // Optional attributes after the value.
  std::optional<int> msg_flags;          // flags=
  std::optional<UnixAddress> address;    // from= (recv*, accept), or the address (get*name)
  bool address_length_written = false;   // "/addrlen=N" was written: compare addrlen too
  std::vector<std::string> bind_rights;  // SCM_RIGHTS(x, y): names for received fds
  bool expect_credentials = false;       // SCM_CREDENTIALS(...)
  std::string credentials_pid_actor;     // pid=ACTOR
  std::optional<long> credentials_uid, credentials_gid;
  std::optional<int> revents;      // poll: revents=
  std::optional<long> signal_set;  // sigpending: the set, as a bit mask
};

struct Line {
  Position at;
  std::string source;  // the line as written, without its comment
  std::string actor;
  // One of: a call; "fork" (child in `fork_child`); "complete" (ACTOR: ... = X).
  std::string call;  // "recv", "fork", "..."
  std::vector<Argument> arguments;
  std::vector<std::string> results;  // variables bound from the result (one or two)
  std::string fork_child;
  Expectation expect;
  std::string syscall;         // what libc calls it in the kernel, for /proc checks
  std::size_t completion = 0;  // for a blocking line: the index of its "..." line
  std::size_t blocked = 0;     // for a "..." line: the index of the line it completes
};

struct Script {
  std::string path;
  std::string rule;                            // the first comment line
  std::string source;                          // "# Source:"
  std::string linux_note;                      // "# Linux:"
  std::vector<std::string> requires_features;  // "# REQUIRES:"
  std::vector<Line> lines;
  std::vector<std::string> actors;         // in order of first appearance
  std::vector<std::string> forked_actors;  // actors created by a fork line
};

}  // namespace sockspec::script
