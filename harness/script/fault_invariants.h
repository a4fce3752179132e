// What must hold in a faulted run (sockspec faults), whatever the fault: the checks made from
// outside the actors on every call they make, after the fault as before it.
//
//   - every failure is an errno the call's man pages document (documented_errors.h);
//   - a stream delivers a prefix of what its peer sent, in order: no byte lost, duplicated
//     or reordered (unix(7): SOCK_STREAM is a reliable byte stream);
//   - a packet socket delivers whole messages that were sent to it, each sender's in order:
//     none split, merged or lost in between (SOCK_SEQPACKET, SOCK_DGRAM: "reliable and don't
//     reorder datagrams");
//   - a socket whose peer is gone (closed, or its last holder killed) answers as unix(7) and
//     recv(2)/send(2) say: a receive on a stream or seqpacket socket returns what is left,
//     then 0 (EOF), or ECONNRESET, and never blocks; poll() reports POLLHUP; a send fails
//     with EPIPE (or raises SIGPIPE), or the ECONNRESET pending when the peer left data
//     unread; a send to a datagram socket that is gone fails with ECONNREFUSED, then
//     ENOTCONN once the dead peer is forgotten.
//
// (The fd-leak and left-behind checks need /proc and the actors: the interpreter makes
// them at the end of the run, script/interpreter.cc.)
//
// Sockets are told apart by inode, which follows a socket through fork(), dup() and
// SCM_RIGHTS. Who is connected to whom comes from the calls themselves: socketpair() pairs
// its two, accept() pairs with the oldest connect() to the listener's name, a datagram
// socket's connect() names its destination. Where that cannot be known (a send to a name
// the run never bound, a socket passed away over SCM_RIGHTS, MSG_OOB on a stream), the
// check that needs it is not made: a violation is always a real one.
#pragma once

#include <sys/types.h>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "script/outcome.h"
#include "script/script.h"

namespace sockspec::script {

class FaultInvariants {
 public:
  // `prefix`: the run's abstract prefix, put before every abstract name the script writes.
  explicit FaultInvariants(std::string prefix) : prefix_(std::move(prefix)) {}

  // A process an actor runs in appeared; a forked one holds what its parent held.
  void process_started(pid_t process, pid_t parent = 0);
  // `line`'s call, made in `process`, was seen asleep: a send's bytes may be on their way.
  void call_blocked(pid_t process, const Line& line);
  // `line`'s call returned `o`; `names`: what it bound its fds to (results, then received
  // fds). `observed`: the line was written "= ?", its result judged only here.
  void call_returned(pid_t process, const Line& line, const std::vector<std::string>& names,
                     const Outcome& o, bool observed);
  // An observed call that blocked where a dead peer means it must return.
  void observed_call_stuck(pid_t process, const Line& line);
  // Every actor of `process` is dead: what only it held is closed.
  void process_died(pid_t process);

  // "file:12: a stream delivered bytes its peer never sent: ...", in the order found.
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  struct Message {
    unsigned long sender = 0;
    std::string bytes;
  };
  struct Socket {
    int type = 0;                   // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET; 0: not known
    unsigned long peer = 0;         // the other end of its connection (or socketpair)
    unsigned long destination = 0;  // a datagram socket's connect()ed destination
    std::set<pid_t> holders;        // processes with a name for it
    bool travelled = false;         // sent over SCM_RIGHTS: its holders are no longer known
    bool closed = false;            // no holder left
    bool unaccounted = false;       // its stream cannot be accounted for (MSG_OOB, MSG_TRUNC, ...)
    std::string sent;               // a stream: every byte its sends moved, in order
    std::string sending;            // a stream: the bytes of a send in progress
    const Line* sending_call = nullptr;  // and its line
    std::string received;                // a stream: every byte its receives took, in order
    std::deque<Message> inbox;  // a packet socket: the messages sent to it, not yet received
  };

  Socket* socket_of(pid_t process, const Argument& fd);
  unsigned long inode_of(pid_t process, const Argument& fd) const;
  std::string address_key(const Argument& address) const;
  bool peer_gone(const Socket& s) const;
  void forget_name(pid_t process, const std::string& name);
  void violation(const Line& line, const std::string& what);

  // Returns where a message went (0 for a stream, or where it is not known).
  unsigned long account_send(pid_t process, const Line& line, const Outcome& o);
  void account_receive(const Line& line, unsigned long inode, const Outcome& o);
  // `whole`: the receive took the whole message, not only its start.
  void account_message(const Line& line, Socket& to, const std::string& bytes, bool whole);
  void check_dead_peer(const Line& line, const Socket& s, const Outcome& o);

  std::string prefix_;
  std::map<pid_t, std::map<std::string, unsigned long>> names_;  // process -> name -> inode
  std::map<unsigned long, Socket> sockets_;
  // A bound name and the type of the socket bound to it -> that socket. Abstract names are
  // per socket type: a stream and a datagram socket may hold the same one.
  std::map<std::pair<std::string, int>, unsigned long> bound_;
  std::map<unsigned long, std::deque<unsigned long>> backlog_;  // listener -> connectors
  std::map<const Line*, unsigned long> counted_early_;          // a waiting send -> where it went
  std::map<const Line*, bool> blocked_;  // a call in progress -> its peer was gone at its start
  bool destinations_known_ = true;       // every message went to a socket the run knows
  std::vector<std::string> violations_;
};

}  // namespace sockspec::script
