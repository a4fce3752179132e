// What one line's call came to, as the actor reported it: the interpreter compares it with
// the line's expectation, and a faulted run's invariants (fault_invariants.h) account for it.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "case/address.h"

namespace sockspec::script {

struct Outcome {
  long value = 0;
  int err = 0;
  bool has_data = false;
  std::string data;
  std::optional<UnixAddress> address;
  std::size_t fds = 0;
  std::optional<ucred> credentials;
  int msg_flags = 0;
  int revents = 0;
  std::vector<std::pair<std::string, int>> events;
  std::vector<std::string> messages;
  // The inode of each fd the call bound to a name (its results, then the received fds named),
  // which is what identifies a socket across fork, dup and SCM_RIGHTS.
  std::vector<unsigned long> bound_inodes;
  bool killed = false;  // the actor died during the call
  int signal = 0;
  // -1 with an errno: getsockopt()'s value may be -1 itself (SO_PEEK_OFF's default).
  bool failed() const { return value == -1 && err != 0; }
};

}  // namespace sockspec::script
