// A short program of calls between two actors, decoded from a fuzzer's bytes: what the
// differential fuzzer (call_sequence_fuzzer.cc) runs natively and on another implementation.
//
// Every program is a faulted case of the case language (`# Fault: none`, cases/LANGUAGE.md)
// whose calls all expect `= ?`: whatever each call returns is recorded in the case's output
// ("line 12: recv(b1, 100, MSG_DONTWAIT) = -1 EAGAIN"), and the fault invariants (no fd
// leaked, no byte lost or reordered) are checked at the end. Any bytes decode to a program
// that parses: a parse error is a fault of this decoder.
//
// No call waits for the other actor: every socket is made non-blocking (SOCK_NONBLOCK, and
// accept4(..., SOCK_NONBLOCK)), receives say MSG_DONTWAIT, and both actors ignore SIGPIPE.
// So each result depends only on the calls before it, and two runs of one program on one
// implementation agree line for line; where two implementations do not, one of them breaks
// a rule (or the rule leaves the choice open, which the comparison then has to be told).
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <vector>

namespace sockspec::fuzz {

struct CallProgram {
  std::vector<std::string> header;  // comment lines, "# Fault: none" among them
  std::vector<std::string> lines;   // "a: recv(a1, 100, MSG_DONTWAIT) = ?"
  std::string text() const;         // the whole case file
  // The line of the file a program line is on (1-based), as the case's output names it.
  int file_line(std::size_t index) const { return static_cast<int>(header.size() + index) + 1; }
};

// At most `max_calls` calls after the set-up; fewer when the input runs out.
CallProgram decode_call_program(FuzzedDataProvider& input, int max_calls = 24);

}  // namespace sockspec::fuzz
