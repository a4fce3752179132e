#include "script/fault_invariants.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "os/names.h"
#include "os/quote.h"
#include "script/documented_errors.h"

namespace sockspec::script {

namespace {

bool is_one_of(std::string_view call, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), call) != names.end();
}

bool is_send(std::string_view call) {
  return is_one_of(
      call, {"send", "sendto", "sendmsg", "sendmmsg", "write", "writev", "pwrite", "sendfile"});
}
bool is_receive(std::string_view call) {
  return is_one_of(call, {"recv", "recvfrom", "recvmsg", "recvmmsg", "read", "readv", "pread"});
}

// The flags argument of a send or a receive (0 for the calls that take none).
long flags_of(const Line& line) {
  if (is_one_of(line.call, {"send", "sendto", "sendmsg", "recv", "recvfrom", "recvmsg"}))
    return line.arguments.at(2).integer;
  if (is_one_of(line.call, {"sendmmsg", "recvmmsg"})) return line.arguments.at(2).integer;
  return 0;
}

// The bytes a send offers, in order (a stream sees the buffers of writev() as one run).
std::string offered_bytes(const Line& line) {
  const Argument& data = line.arguments.at(1);
  if (data.kind == Argument::Kind::kByteStrings)
    return std::accumulate(data.byte_strings.begin(), data.byte_strings.end(), std::string());
  return data.bytes;
}

// How many bytes a receive asked for.
std::size_t requested_length(const Line& line) {
  const Argument& length = line.arguments.at(1);
  if (length.kind == Argument::Kind::kIntegers)
    return static_cast<std::size_t>(
        std::accumulate(length.integers.begin(), length.integers.end(), 0L));
  return static_cast<std::size_t>(length.integer);
}

}  // namespace

void FaultInvariants::process_started(pid_t process, pid_t parent) {
  names_[process] = parent ? names_[parent] : std::map<std::string, unsigned long>{};
  for (const auto& [name, inode] : names_[process]) sockets_[inode].holders.insert(process);
}

unsigned long FaultInvariants::inode_of(pid_t process, const Argument& fd) const {
  const auto names = names_.find(process);
  if (names == names_.end() || fd.kind != Argument::Kind::kVariable) return 0;
  const auto inode = names->second.find(fd.variable);
  return inode == names->second.end() ? 0 : inode->second;
}

FaultInvariants::Socket* FaultInvariants::socket_of(pid_t process, const Argument& fd) {
  const unsigned long inode = inode_of(process, fd);
  return inode ? &sockets_[inode] : nullptr;
}

// A bound name as the kernel keys it: an abstract name with the run's prefix, a path as
// written (every actor works in the case's directory).
std::string FaultInvariants::address_key(const Argument& a) const {
  if (a.abstract) return std::string(1, '\0') + prefix_ + a.abstract_name;
  if (!a.address) return "";
  const std::string_view path = a.address->path_bytes();
  return std::string(path.substr(0, path.find('\0')));
}

bool FaultInvariants::peer_gone(const Socket& s) const {
  const unsigned long other = s.type == SOCK_DGRAM ? s.destination : s.peer;
  const auto found = sockets_.find(other);
  return other && found != sockets_.end() && found->second.closed;
}

void FaultInvariants::forget_name(pid_t process, const std::string& name) {
  auto& names = names_[process];
  const auto found = names.find(name);
  if (found == names.end()) return;
  const unsigned long inode = found->second;
  names.erase(found);
  if (std::any_of(names.begin(), names.end(), [&](const auto& n) { return n.second == inode; }))
    return;  // another name of the process holds the same socket (dup)
  Socket& s = sockets_[inode];
  s.holders.erase(process);
  if (s.holders.empty() && !s.travelled) s.closed = true;
}

void FaultInvariants::process_died(pid_t process) {
  const auto names = names_.find(process);
  if (names == names_.end()) return;
  std::vector<std::string> held;
  for (const auto& [name, inode] : names->second) held.push_back(name);
  for (const auto& name : held) forget_name(process, name);
  names_.erase(process);
}

void FaultInvariants::violation(const Line& line, const std::string& what) {
  violations_.push_back(
      fmt::format("line {}: {}\n  line:     {}", line.at.line, what, line.source));
}

void FaultInvariants::call_blocked(pid_t process, const Line& line) {
  const Socket* on = line.arguments.empty() ? nullptr : socket_of(process, line.arguments.at(0));
  blocked_[&line] = on && peer_gone(*on);
  if (!is_send(line.call) || line.call == "sendfile" || line.call == "sendmmsg") return;
  Socket* s = socket_of(process, line.arguments.at(0));
  if (!s) return;
  if (s->type != SOCK_STREAM) {
    // A message may reach its receiver while its send still waits (for room in a queue): it
    // is counted now, and taken back if the send fails.
    Outcome whole;
    whole.value = static_cast<long>(offered_bytes(line).size());
    counted_early_[&line] = account_send(process, line, whole);
    return;
  }
  // Two sends in progress at once on one stream may interleave: its bytes cannot be told.
  if (s->sending_call) s->unaccounted = true;
  s->sending = offered_bytes(line);
  s->sending_call = &line;
}

void FaultInvariants::observed_call_stuck(pid_t process, const Line& line) {
  const Socket* s = line.arguments.empty() ? nullptr : socket_of(process, line.arguments.at(0));
  if (!s || s->type == SOCK_DGRAM || !peer_gone(*s)) return;
  if (is_receive(line.call) || is_send(line.call) || is_one_of(line.call, {"poll", "select"}))
    violation(line,
              fmt::format("{} blocked on a {} socket whose peer is gone; unix(7), recv(2): "
                          "it returns what is left, then 0 (EOF)",
                          line.call,
                          line.call == "poll" || line.call == "select" ? "connected"
                                                                       : "connection-oriented"));
}

void FaultInvariants::call_returned(pid_t process, const Line& line,
                                    const std::vector<std::string>& names, const Outcome& o,
                                    bool observed) {
  if (o.killed) {
    // A send that died on the way may have moved some of its bytes: its stream is no longer
    // accounted for. The process's sockets are released when the interpreter says it died.
    if (is_send(line.call))
      if (Socket* s = socket_of(process, line.arguments.at(0))) s->unaccounted = true;
    if (observed && o.signal == SIGPIPE)
      if (const Socket* s = socket_of(process, line.arguments.at(0)); s && s->type != SOCK_DGRAM)
        return;  // the documented death of a send on a broken stream (MSG_NOSIGNAL not given)
    return;
  }
  if (observed && o.failed() && !documents(line.call, o.err) &&
      !undocumented_on_linux(line.call, o.err))
    violation(line, fmt::format("{} failed with {}, which {} do not list for it", line.call,
                                errno_name(o.err), documented_errors(line.call)->pages));

  Socket* s = line.arguments.empty() ? nullptr : socket_of(process, line.arguments.at(0));
  // The rules for a dead peer are for calls made once it is dead: one it interrupts may have
  // moved data, or fail otherwise (ECONNRESET for a waiting send).
  const auto blocked = blocked_.find(&line);
  const bool peer_gone_at_start = blocked == blocked_.end() ? true : blocked->second;
  if (blocked != blocked_.end()) blocked_.erase(blocked);
  unsigned long counted_to = 0;  // where its message went when it was seen waiting
  if (const auto early = counted_early_.find(&line); early != counted_early_.end())
    counted_to = early->second, counted_early_.erase(early);
  if (observed && s && peer_gone_at_start) check_dead_peer(line, *s, o);
  if (s && s->sending_call == &line) s->sending.clear(), s->sending_call = nullptr;

  for (std::size_t i = 0; i < names.size() && i < o.bound_inodes.size(); ++i) {
    // A name bound again leaves its socket open, under a name of its own (as the actor does).
    auto& held = names_[process];
    if (const auto old = held.find(names[i]); old != held.end()) held[names[i] + "'"] = old->second;
    Socket& bound = sockets_[o.bound_inodes[i]];
    names_[process][names[i]] = o.bound_inodes[i];
    bound.holders.insert(process);
    bound.closed = false;
  }
  if (o.failed()) {
    // A message counted when its send was seen waiting was not sent after all.
    if (counted_to) {
      auto& inbox = sockets_[counted_to].inbox;
      const unsigned long self = inode_of(process, line.arguments.at(0));
      const std::string bytes = offered_bytes(line);
      const auto it = std::find_if(inbox.rbegin(), inbox.rend(), [&](const Message& m) {
        return m.sender == self && m.bytes == bytes;
      });
      if (it != inbox.rend()) inbox.erase(std::next(it).base());
    }
    return;
  }

  const auto bound_socket = [&](std::size_t i) -> Socket* {
    return i < o.bound_inodes.size() ? &sockets_[o.bound_inodes[i]] : nullptr;
  };
  if (line.call == "socket" || line.call == "socketpair") {
    const int type = static_cast<int>(line.arguments.at(1).integer & 0xf);
    for (std::size_t i = 0; i < o.bound_inodes.size(); ++i) bound_socket(i)->type = type;
    if (o.bound_inodes.size() == 2) {
      bound_socket(0)->peer = bound_socket(0)->destination = o.bound_inodes[1];
      bound_socket(1)->peer = bound_socket(1)->destination = o.bound_inodes[0];
    }
  } else if (line.call == "dup" && s && bound_socket(0)) {
    // The same socket under a second name: nothing to do but the binding above.
  } else if (line.call == "bind" && s) {
    bound_[{address_key(line.arguments.at(1)), s->type}] = inode_of(process, line.arguments.at(0));
  } else if (line.call == "connect" && s) {
    const auto target = bound_.find({address_key(line.arguments.at(1)), s->type});
    const unsigned long self = inode_of(process, line.arguments.at(0));
    if (target == bound_.end()) {
      if (s->type == SOCK_DGRAM) destinations_known_ = false;
    } else if (s->type == SOCK_DGRAM) {
      s->destination = target->second;
    } else {
      backlog_[target->second].push_back(self);
    }
  } else if ((line.call == "accept" || line.call == "accept4") && s && bound_socket(0)) {
    Socket& accepted = *bound_socket(0);
    accepted.type = s->type;
    auto& waiting = backlog_[inode_of(process, line.arguments.at(0))];
    if (!waiting.empty()) {
      accepted.peer = waiting.front();
      sockets_[waiting.front()].peer = o.bound_inodes[0];
      waiting.pop_front();
    }
  } else if (line.call == "close") {
    forget_name(process, line.arguments.at(0).variable);
  } else if (is_send(line.call) && !counted_to) {
    account_send(process, line, o);
  } else if (is_receive(line.call) && s) {
    account_receive(line, inode_of(process, line.arguments.at(0)), o);
  }
}

unsigned long FaultInvariants::account_send(pid_t process, const Line& line, const Outcome& o) {
  Socket* s = socket_of(process, line.arguments.at(0));
  if (!s) return 0;
  // fds passed over SCM_RIGHTS now have holders the run cannot follow until received.
  for (const auto& a : line.arguments)
    if (a.kind == Argument::Kind::kRights)
      for (const auto& name : a.rights)
        if (const auto inode = names_[process].find(name); inode != names_[process].end())
          sockets_[inode->second].travelled = true;
  if (s->type == SOCK_STREAM) {
    if (line.call == "sendfile" || line.call == "sendmmsg" || (flags_of(line) & MSG_OOB)) {
      s->unaccounted = true;
      if (s->peer) sockets_[s->peer].unaccounted = true;
      return 0;
    }
    s->sent += offered_bytes(line).substr(0, static_cast<std::size_t>(o.value));
    return 0;
  }
  if (line.call == "sendfile") {
    destinations_known_ = false;
    return 0;
  }
  // A message goes to the address given, else to the connected peer or destination.
  // (A connected seqpacket socket sends to its peer whatever address sendto() names.)
  unsigned long to = s->type == SOCK_DGRAM ? s->destination : s->peer;
  if (line.call == "sendto" && s->type == SOCK_DGRAM) {
    const auto target = bound_.find({address_key(line.arguments.at(3)), s->type});
    to = target == bound_.end() ? 0 : target->second;
  }
  if (!to) {
    destinations_known_ = false;
    return 0;
  }
  const unsigned long self = inode_of(process, line.arguments.at(0));
  if (line.call == "sendmmsg") {
    const auto& messages = line.arguments.at(1).byte_strings;
    for (long i = 0; i < o.value && i < static_cast<long>(messages.size()); ++i)
      sockets_[to].inbox.push_back({self, messages[static_cast<std::size_t>(i)]});
  } else {
    sockets_[to].inbox.push_back({self, offered_bytes(line)});
  }
  return to;
}

void FaultInvariants::account_receive(const Line& line, unsigned long inode, const Outcome& o) {
  Socket& s = sockets_[inode];
  const long flags = flags_of(line);
  if (flags & MSG_PEEK) return;
  if (s.type == SOCK_STREAM) {
    if (flags & (MSG_TRUNC | MSG_OOB)) s.unaccounted = true;
    if (s.unaccounted || !s.peer || sockets_[s.peer].unaccounted) return;
    const Socket& peer = sockets_[s.peer];
    s.received += line.call == "recvmmsg"
                      ? std::accumulate(o.messages.begin(), o.messages.end(), std::string())
                      : o.data;
    const std::string moved = peer.sent + peer.sending;
    if (!moved.starts_with(s.received)) {
      const auto differ = static_cast<std::size_t>(
          std::mismatch(s.received.begin(), s.received.end(), moved.begin(), moved.end()).first -
          s.received.begin());
      violation(line, fmt::format("the stream delivered bytes its peer did not send in that "
                                  "order (unix(7): a reliable byte stream): byte {} received is "
                                  "{}, sent {}; received {}, sent {}",
                                  differ, quote_bytes(s.received.substr(differ, 8)),
                                  quote_bytes(moved.substr(std::min(differ, moved.size()), 8)),
                                  quote_bytes(s.received, 40), quote_bytes(moved, 40)));
      s.unaccounted = true;  // one report per stream
    }
    return;
  }
  if (!destinations_known_ || s.type == 0) return;
  if (line.call == "recvmmsg") {
    for (const auto& m : o.messages) account_message(line, s, m, /*whole=*/false);
    return;
  }
  // 0 and no bytes, with no empty message waiting: the end of file of a seqpacket
  // connection, or of a datagram socket shut down for reading. Not a recv() into a buffer of
  // 0 bytes while messages wait: that takes the next message, cut to nothing. A read() of
  // 0 bytes takes nothing: it returns before it reaches the socket (sock_read_iter()).
  const bool empty_waiting =
      std::any_of(s.inbox.begin(), s.inbox.end(), [](const Message& m) { return m.bytes.empty(); });
  if (o.value == 0 && o.data.empty() && !empty_waiting &&
      (requested_length(line) > 0 || s.inbox.empty() || is_one_of(line.call, {"read", "readv"})))
    return;
  // A buffer the message did not fit in takes its start (MSG_TRUNC says the rest was lost).
  const bool whole = o.data.size() < requested_length(line) && !(o.msg_flags & MSG_TRUNC);
  account_message(line, s, o.data, whole);
}

void FaultInvariants::account_message(const Line& line, Socket& to, const std::string& bytes,
                                      bool whole) {
  const auto matches = [&](const Message& m) {
    return whole ? m.bytes == bytes : m.bytes.starts_with(bytes);
  };
  const auto found = std::find_if(to.inbox.begin(), to.inbox.end(), matches);
  if (found == to.inbox.end()) {
    std::vector<std::string> waiting;
    for (const auto& m : to.inbox) waiting.push_back(quote_bytes(m.bytes, 16));
    violation(line, fmt::format("received the message {}, which no one sent to this socket "
                                "(a message split, merged or altered; unix(7): datagrams and "
                                "seqpackets keep their boundaries); sent and not yet received: "
                                "[{}]",
                                quote_bytes(bytes, 40), fmt::join(waiting, ", ")));
    return;
  }
  const auto earlier = std::find_if(to.inbox.begin(), found,
                                    [&](const Message& m) { return m.sender == found->sender; });
  if (earlier != found)
    violation(line, fmt::format("received {} before {}, which the same socket sent earlier "
                                "(unix(7): messages are not reordered or lost)",
                                quote_bytes(bytes, 40), quote_bytes(earlier->bytes, 40)));
  to.inbox.erase(found);
}

void FaultInvariants::check_dead_peer(const Line& line, const Socket& s, const Outcome& o) {
  if (!peer_gone(s)) return;
  const auto fail = [&](const std::string& rule) {
    const std::string got = o.failed() ? "-1 " + errno_name(o.err) : fmt::format("{}", o.value);
    violation(line, fmt::format("{} returned {} on a socket whose peer is gone; {}", line.call, got,
                                rule));
  };
  // A message too long ever to fit the send buffer (EMSGSIZE), or out-of-band data on a
  // socket that has none (EOPNOTSUPP), is refused for what it is before the peer is looked
  // at (unix_dgram_sendmsg(), which seqpacket sends go through too).
  if (is_send(line.call) && s.type != SOCK_STREAM && o.failed() &&
      (o.err == EMSGSIZE || (o.err == EOPNOTSUPP && (flags_of(line) & MSG_OOB))))
    return;
  if (s.type == SOCK_DGRAM) {
    // (An error pending on the socket, SO_ERROR, comes first, and so does EPIPE after the
    // socket's own shutdown(SHUT_WR): socket(7), send(2).)
    if (is_send(line.call) && line.call != "sendto" &&
        !(o.failed() &&
          (o.err == ECONNREFUSED || o.err == ENOTCONN || o.err == ECONNRESET || o.err == EPIPE)))
      fail(
          "a send to a datagram peer that is gone fails with ECONNREFUSED, then ENOTCONN "
          "(unix(7), send(2)), unless an error pending on the socket (socket(7) SO_ERROR) or "
          "its own shutdown (EPIPE) comes first");
    return;
  }
  if (flags_of(line) & MSG_OOB) return;  // out-of-band data has rules of its own
  if (is_receive(line.call) && o.failed() && o.err != ECONNRESET)
    fail(
        "a receive returns what is left, then 0 (EOF), or ECONNRESET when the peer left "
        "data unread (recv(2), unix(7))");
  // (sendto() with an address on a connected stream fails with EISCONN first.)
  // (ECONNRESET, once, when the peer left data unread: the error pending on the socket.)
  // (sendfile() from a file at its end sends nothing, and returns 0 before looking.)
  if (is_send(line.call) && line.call != "sendto" && line.call != "sendfile" &&
      !(o.failed() && (o.err == EPIPE || o.err == ECONNRESET)))
    fail(
        "a send on a connection whose peer is gone fails with EPIPE (send(2)), or with the "
        "ECONNRESET pending when the peer left data unread (socket(7) SO_ERROR)");
  if ((line.call == "poll") && !(o.revents & POLLHUP) && (line.arguments.at(1).integer & POLLIN))
    fail("poll reports POLLHUP on a connection whose peer is gone (poll(2), unix(7))");
}

}  // namespace sockspec::script
