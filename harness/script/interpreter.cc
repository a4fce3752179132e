#include "script/interpreter.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "case/call.h"
#include "case/case.h"
#include "os/case_error.h"
#include "os/channel.h"
#include "os/host.h"
#include "os/names.h"
#include "os/proc.h"
#include "os/quote.h"
#include "os/spawn.h"
#include "os/wait.h"
#include "script/constants.h"

namespace sockspec::script {

namespace {

// What an actor sends back for one line.
struct Outcome {
  CallResult result;
  std::string described;  // result.describe(), with abstract names shown without the prefix
  bool killed = false;    // the actor died during the call
  int signal = 0;
};

// "SIGPIPE|SIGUSR1", or "none": a signal set as sigpending() reports it, bit s-1 for signal s.
std::string signal_set_names(long mask) {
  std::string names;
  for (int s = 1; s < 64; ++s)
    if (mask & (1L << (s - 1))) names += (names.empty() ? "" : "|") + signal_name(s);
  return names.empty() ? "none" : names;
}

// Bytes travel between processes as hex inside the JSON reply.
std::string to_hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}
std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// The address an argument names, with the run's abstract prefix put in front of an abstract
// name. A written addrlen counts the name as written; the prefix adds to it. Past the size of
// sockaddr_storage the kernel's answer is EINVAL either way (anything over
// sizeof(struct sockaddr_un) is), so the length is capped there.
UnixAddress resolve_address(const Argument& a, const std::string& prefix) {
  if (!a.abstract) return *a.address;
  UnixAddress prefixed = UnixAddress::abstract(prefix + a.abstract_name);
  if (a.explicit_addrlen)
    prefixed = prefixed.with_length(std::min<socklen_t>(
        *a.explicit_addrlen + static_cast<socklen_t>(prefix.size()), sizeof(sockaddr_storage)));
  return prefixed;
}

// The run's prefix is an implementation detail: the script never wrote it.
UnixAddress unprefixed(const UnixAddress& a, const std::string& prefix) {
  if (!a.is_abstract() || !a.path_bytes().substr(1).starts_with(prefix)) return a;
  return UnixAddress::abstract(a.path_bytes().substr(1 + prefix.size()));
}

// ---------------------------------------------------------------------------------------
// The actor's side: a loop that runs the lines it is sent.

class Actor {
 public:
  Actor(const Script& script, std::string name, Channel channel, std::string abstract_prefix,
        std::map<std::string, Channel>* later_channels)
      : script_(script),
        name_(std::move(name)),
        channel_(std::move(channel)),
        prefix_(std::move(abstract_prefix)),
        later_channels_(later_channels) {}

  [[noreturn]] void run() {
    ::prctl(PR_SET_NAME, fmt::format("actor:{}", name_).substr(0, 15).c_str());
    while (true) {
      Message m;
      try {
        m = channel_.receive(Clock::time_point::max(), "the next line");
      } catch (const CaseError&) {
        ::_exit(0);  // the interpreter is done with this actor
      }
      if (m.tag == "end") ::_exit(0);
      const Line& line = script_.lines.at(std::stoul(m.payload));
      if (line.call == "fork") {
        fork_child(line);
        continue;
      }
      CallResult r;
      try {
        r = execute(line);
      } catch (const std::exception& e) {
        channel_.send("error", e.what());  // the interpreter reports it as the line's failure
        continue;
      }
      bind(line, r);
      nlohmann::json reply = {{"value", r.value},         {"err", r.err},
                              {"msg_flags", r.msg_flags}, {"revents", r.revents},
                              {"fds", r.fds.size()},      {"described", shown(r.describe())}};
      reply["data"] = to_hex(r.data);
      if (r.address) {
        const UnixAddress a = unprefixed(*r.address, prefix_);
        const std::string_view bytes = a.path_bytes();
        reply["address"] = to_hex(bytes);
        reply["address_length"] = a.length();
      }
      if (r.credentials)
        reply["credentials"] = {r.credentials->pid, r.credentials->uid, r.credentials->gid};
      channel_.send("result", reply.dump());
    }
  }

 private:
  int fd(const Argument& a) const { return variables_.at(a.variable); }
  int integer(const Argument& a) const { return static_cast<int>(a.integer); }

  UnixAddress address(const Argument& a) const { return resolve_address(a, prefix_); }
  std::string shown(std::string text) const {
    for (auto at = text.find(prefix_); at != std::string::npos; at = text.find(prefix_))
      text.erase(at, prefix_.size());
    return text;
  }

  CallResult execute(const Line& line) {
    const auto& a = line.arguments;
    const std::string& c = line.call;
    if (c == "socket") return call::socket(integer(a[0]), integer(a[1]), integer(a[2]));
    if (c == "socketpair") return call::socketpair(integer(a[0]), integer(a[1]), integer(a[2]));
    if (c == "bind") return call::bind(fd(a[0]), address(a[1]));
    if (c == "listen") return call::listen(fd(a[0]), integer(a[1]));
    if (c == "accept") return call::accept(fd(a[0]));
    if (c == "accept4") return call::accept4(fd(a[0]), integer(a[1]));
    if (c == "connect") return call::connect(fd(a[0]), address(a[1]));
    if (c == "send") return call::send(fd(a[0]), a[1].bytes, integer(a[2]));
    if (c == "sendto") return call::sendto(fd(a[0]), a[1].bytes, integer(a[2]), address(a[3]));
    if (c == "sendmsg") {
      std::vector<int> rights;
      bool credentials = false;
      for (std::size_t i = 3; i < a.size(); ++i) {
        for (const auto& v : a[i].rights) rights.push_back(variables_.at(v));
        credentials |= a[i].kind == Argument::Kind::kCredentials;
      }
      return call::sendmsg(fd(a[0]), a[1].bytes, integer(a[2]), rights, credentials);
    }
    if (c == "recv") return call::recv(fd(a[0]), a[1].integer, integer(a[2]));
    if (c == "recvfrom") return call::recvfrom(fd(a[0]), a[1].integer, integer(a[2]));
    if (c == "recvmsg")
      return call::recvmsg_with_control(
          fd(a[0]), a[1].integer, integer(a[2]),
          a.size() > 3 ? static_cast<std::size_t>(a[3].integer) : SIZE_MAX);
    if (c == "read") return call::read(fd(a[0]), a[1].integer);
    if (c == "write") return call::write(fd(a[0]), a[1].bytes);
    if (c == "shutdown") return call::shutdown(fd(a[0]), integer(a[1]));
    if (c == "close") return call::close(fd(a[0]));
    if (c == "getsockname") return call::getsockname(fd(a[0]));
    if (c == "getpeername") return call::getpeername(fd(a[0]));
    if (c == "getsockopt") return call::getsockopt(fd(a[0]), integer(a[1]), integer(a[2]));
    if (c == "setsockopt")
      return call::setsockopt(fd(a[0]), integer(a[1]), integer(a[2]), integer(a[3]));
    if (c == "fcntl") return call::fcntl(fd(a[0]), integer(a[1]), a.size() > 2 ? integer(a[2]) : 0);
    if (c == "ioctl") return call::ioctl_fionread(fd(a[0]));
    if (c == "poll") return call::poll(fd(a[0]), integer(a[1]), integer(a[2]));
    if (c == "signal") return process_call::signal(integer(a[0]), integer(a[1]));
    if (c == "sigprocmask") return process_call::sigprocmask(integer(a[0]), integer(a[1]));
    if (c == "sigpending") return process_call::sigpending();
    throw CaseError("no such call: " + c);
  }

  // Names the fds the call produced, as the line (or its completion line) says.
  void bind(const Line& line, const CallResult& r) {
    if (r.failed()) return;
    if (line.call == "socketpair" && line.results.size() == 2) {
      variables_[line.results[0]] = r.fds[0];
      variables_[line.results[1]] = r.fds[1];
    } else if (line.results.size() == 1) {
      variables_[line.results[0]] = static_cast<int>(r.value);
    }
    const Line& naming = line.completion ? script_.lines[line.completion] : line;
    for (std::size_t i = 0; i < naming.expect.bind_rights.size() && i < r.fds.size(); ++i)
      variables_[naming.expect.bind_rights[i]] = r.fds[i];
  }

  void fork_child(const Line& line) {
    std::fflush(nullptr);
    const pid_t child = ::fork();
    if (child == 0) {
      channel_.close();
      name_ = line.fork_child;
      channel_ = std::move(later_channels_->at(name_));
      run();
    }
    channel_.send("result", nlohmann::json{{"value", child},
                                           {"err", 0},
                                           {"described", fmt::format("fork() = {}", child)}}
                                .dump());
  }

  // Calls on the process rather than a socket.
  struct process_call {
    static CallResult signal(int sig, int disposition) {
      struct sigaction action {};
      action.sa_handler = disposition == 1 ? SIG_IGN : SIG_DFL;
      CallResult r;
      r.value = ::sigaction(sig, &action, nullptr);
      r.err = r.value == -1 ? errno : 0;
      r.call =
          fmt::format("signal({}, {})", signal_name(sig), disposition == 1 ? "SIG_IGN" : "SIG_DFL");
      return r;
    }
    static CallResult sigprocmask(int how, int sig) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, sig);
      CallResult r;
      r.value = ::sigprocmask(how, &set, nullptr);
      r.err = r.value == -1 ? errno : 0;
      r.call = fmt::format("sigprocmask({}, {})",
                           how == SIG_BLOCK     ? "SIG_BLOCK"
                           : how == SIG_UNBLOCK ? "SIG_UNBLOCK"
                                                : "SIG_SETMASK",
                           signal_name(sig));
      return r;
    }
    static CallResult sigpending() {
      sigset_t set;
      sigemptyset(&set);
      CallResult r;
      r.value = ::sigpending(&set);
      r.err = r.value == -1 ? errno : 0;
      long mask = 0;
      for (int s = 1; s < 64; ++s)
        if (sigismember(&set, s) == 1) mask |= 1L << (s - 1);
      r.call = "sigpending()";
      if (r.value == 0) r.value = mask, r.data = signal_set_names(mask);
      return r;
    }
  };

  const Script& script_;
  std::string name_;
  Channel channel_;
  std::string prefix_;
  std::map<std::string, Channel>* later_channels_;
  std::map<std::string, int> variables_;
};

// ---------------------------------------------------------------------------------------
// Actors as a separate program (harness/c_actor/actor.c), used when SOCKSPEC_ACTOR names
// it: the `musl` target runs that program built with musl, so the calls go through musl.
// Such an actor gets each line resolved into a request (its protocol is in actor.c).

std::string encode_request(const Script& script, const Line& line, const std::string& prefix) {
  std::string q = line.call + "\n";
  for (const auto& name : line.results) q += "result " + name + "\n";
  const Line& naming = line.completion ? script.lines[line.completion] : line;
  for (const auto& name : naming.expect.bind_rights) q += "rights " + name + "\n";
  for (const auto& a : line.arguments) {
    switch (a.kind) {
      case Argument::Kind::kVariable:
        q += "fd " + a.variable + "\n";
        break;
      case Argument::Kind::kInteger:
        q += fmt::format("int {}\n", a.integer);
        break;
      case Argument::Kind::kBytes:
        q += "bytes " + to_hex(a.bytes) + "\n";
        break;
      case Argument::Kind::kAddress: {
        const UnixAddress address = resolve_address(a, prefix);
        const std::string_view whole(reinterpret_cast<const char*>(address.get()),
                                     sizeof(sockaddr_storage));
        q += fmt::format("addr {} {}\n", to_hex(whole), address.length());
        break;
      }
      case Argument::Kind::kRights:
        q += fmt::format("sendrights {}\n", fmt::join(a.rights, " "));
        break;
      case Argument::Kind::kCredentials:
        q += "creds\n";
        break;
    }
  }
  return q;
}

// The call as the script wrote it, for messages: `recv(b, 3, MSG_PEEK)`.
std::string written_call(const Line& line) {
  std::vector<std::string> shown;
  for (const auto& a : line.arguments) {
    switch (a.kind) {
      case Argument::Kind::kVariable:
        shown.push_back(a.variable);
        break;
      case Argument::Kind::kInteger:
        shown.push_back(a.text.empty() ? std::to_string(a.integer) : a.text);
        break;
      case Argument::Kind::kBytes:
        shown.push_back(quote_bytes(a.bytes, 24));
        break;
      case Argument::Kind::kAddress:
        shown.push_back(a.address ? a.address->describe() : quote_bytes(a.abstract_name));
        break;
      case Argument::Kind::kRights:
        shown.push_back(fmt::format("SCM_RIGHTS({})", fmt::join(a.rights, ", ")));
        break;
      case Argument::Kind::kCredentials:
        shown.push_back("SCM_CREDENTIALS");
        break;
    }
  }
  return fmt::format("{}({})", line.call, fmt::join(shown, ", "));
}

// Starts the actor program. It keeps its channel, and the channels of the actors it will
// fork, whose fds go on its command line; the spawn gives it no other fd.
pid_t start_actor_program(const std::string& program, const std::string& name, const Channel& mine,
                          const std::map<std::string, Channel>& later_channels) {
  std::vector<std::string> args{program, name, std::to_string(mine.in_fd()),
                                std::to_string(mine.out_fd())};
  std::vector<int> kept{mine.in_fd(), mine.out_fd()};
  for (const auto& [other, channel] : later_channels) {
    if (channel.in_fd() < 0) continue;
    args.push_back(fmt::format("{}:{}:{}", other, channel.in_fd(), channel.out_fd()));
    kept.push_back(channel.in_fd());
    kept.push_back(channel.out_fd());
  }
  try {
    Child actor = spawn({.argv = args, .in = Redirect::inherit(), .keep_fds = kept});
    const pid_t pid = actor.pid();
    actor.forget();  // reaped with the other actors (Interpreter::stop_actors)
    return pid;
  } catch (const SpawnError& e) {
    throw CaseError(fmt::format("the actor program: {}", e.what()));
  }
}

// ---------------------------------------------------------------------------------------
// The interpreter's side.

struct ActorHandle {
  pid_t pid = -1;
  Channel channel;
  bool dead = false;
};

class Interpreter {
 public:
  Interpreter(const Script& script, std::ostream& out) : script_(script), out_(out) {
    if (const char* program = std::getenv("SOCKSPEC_ACTOR")) actor_program_ = program;
  }

  int run() {
    Case here(script_.path);
    prefix_ = here.abstract_name("s") + ".";
    deadline_ = here.deadline();
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);

    // Every actor's channel exists before any socket: actors forked later find theirs
    // already open in the process that forks them.
    std::map<std::string, Channel> later_channels;
    for (const auto& name : script_.actors) {
      ChannelPair pair = make_channel_pair(name);
      actors_[name].channel = std::move(pair.controller_side);
      peer_sides_[name] = std::move(pair.peer_side);
    }
    for (const auto& name : script_.forked_actors)
      later_channels[name] = std::move(peer_sides_[name]);
    for (const auto& name : script_.actors) {
      if (later_channels.contains(name)) continue;
      start_actor(name, later_channels);
    }
    for (auto& [name, side] : peer_sides_) side.close();
    for (auto& [name, side] : later_channels) side.close();

    int status = kScriptPassed;
    try {
      for (std::size_t i = 0; i < script_.lines.size(); ++i)
        if (!run_line(i)) {
          status = kScriptFailed;
          break;
        }
    } catch (const std::exception& e) {  // a deadline, or a call the actor could not make
      out_ << e.what() << "\n";          // it names file:line
      status = kScriptFailed;
    }
    stop_actors();
    return status;
  }

 private:
  void start_actor(const std::string& name, std::map<std::string, Channel>& later_channels) {
    if (!actor_program_.empty()) {
      actors_[name].pid =
          start_actor_program(actor_program_, name, peer_sides_[name], later_channels);
      return;
    }
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0)
      throw CaseError(fmt::format("{}: fork failed: {}", script_.path, std::strerror(errno)));
    if (pid == 0) {
      for (auto& [other, handle] : actors_) handle.channel.close();
      Channel mine = std::move(peer_sides_[name]);
      for (auto& [other, side] : peer_sides_) side.close();
      Actor(script_, name, std::move(mine), prefix_, &later_channels).run();
    }
    actors_[name].pid = pid;
  }

  std::string where(const Line& line) const {
    return fmt::format("{}:{}", script_.path, line.at.line);
  }

  bool mismatch(const Line& line, const std::string& expected, const std::string& actual) {
    out_ << where(line) << ": mismatch\n"
         << "  line:     " << line.source << "\n"
         << "  expected: " << expected << "\n"
         << "  actual:   " << actual << "\n";
    return false;
  }

  // Waits for the actor's reply to `line`, watching it in /proc meanwhile. While no other
  // actor has a call in progress, nothing can release a call that sleeps in its syscall:
  // such a call is reported (nullopt) once it has been seen asleep for 20 ms, rather than at
  // the deadline. While another actor's call is in progress (it may be draining what this
  // one waits on), only the deadline ends the wait.
  std::optional<Outcome> await_outcome(const std::string& actor, const Line& line) {
    ActorHandle& h = actors_[actor];
    const long nr = syscall_number(line.syscall);
    const bool others_in_progress = pending_.size() > (pending_.contains(actor) ? 1u : 0u);
    bool asleep = false;
    Clock::time_point asleep_since{};
    auto interval = std::chrono::milliseconds(1);
    while (true) {
      // While another actor's call is in progress, only the reply (or the deadline) ends
      // this wait, so it waits on the channel alone: a wait on the harness channel, which
      // the runner's hang verdict knows waits for another process of the case.
      const auto wait = others_in_progress
                            ? std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now())
                            : interval;
      pollfd pfd{h.channel.in_fd(), POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(std::clamp<long long>(wait.count(), 0, 60'000))) > 0) {
        try {
          const Message m = h.channel.receive(deadline_, "a result");
          if (m.tag == "error")
            throw std::runtime_error(fmt::format("{}: {}", where(line), m.payload));
          return actor_program_.empty() ? decode_outcome(m.payload)
                                        : decode_program_outcome(m.payload, line);
        } catch (const CaseError&) {
          if (Clock::now() >= deadline_) throw;
          // The channel closed: the actor died during the call.
          h.dead = true;
          Outcome o;
          o.killed = true;
          o.signal = death_signal(h.pid);
          return o;
        }
      }
      if (Clock::now() >= deadline_)
        throw CaseError(
            fmt::format("{}: {} did not return before the case's deadline; actor {} is {}",
                        where(line), line.call, actor, read_process_state(h.pid).describe()));
      if (nr >= 0 && !others_in_progress && read_process_state(h.pid).blocked_in(nr)) {
        if (!asleep) asleep = true, asleep_since = Clock::now();
        if (Clock::now() - asleep_since >= std::chrono::milliseconds(20)) return std::nullopt;
      } else {
        asleep = false;
      }
      interval = std::min(interval * 2, std::chrono::milliseconds(5));
    }
  }

  static Outcome decode_outcome(const std::string& payload) {
    Outcome o;
    const auto j = nlohmann::json::parse(payload);
    o.result.value = j.at("value");
    o.result.err = j.at("err");
    o.result.msg_flags = j.value("msg_flags", 0);
    o.result.revents = j.value("revents", 0);
    o.described = j.value("described", "");
    if (j.contains("data")) o.result.data = from_hex(j["data"]);
    o.result.fds.resize(j.value("fds", 0u));
    if (j.contains("address")) {
      sockaddr_storage storage{};
      storage.ss_family = AF_UNIX;
      const std::string bytes = from_hex(j["address"]);
      std::memcpy(reinterpret_cast<char*>(&storage) + UnixAddress::kPathOffset, bytes.data(),
                  std::min(bytes.size(), sizeof(storage) - UnixAddress::kPathOffset));
      o.result.address = UnixAddress::from_kernel(storage, j.at("address_length").get<socklen_t>());
    }
    if (j.contains("credentials"))
      o.result.credentials = ucred{j["credentials"][0], j["credentials"][1], j["credentials"][2]};
    return o;
  }

  // The actor program reports bare results: the abstract prefix is taken off here, and the
  // call is described as the script wrote it.
  Outcome decode_program_outcome(const std::string& payload, const Line& line) const {
    Outcome o = decode_outcome(payload);
    CallResult& r = o.result;
    if (r.address) r.address = unprefixed(*r.address, prefix_);
    if (line.call == "sigpending" && r.value >= 0) r.data = signal_set_names(r.value);
    r.call = written_call(line);
    o.described = r.describe();
    return o;
  }

  // How an actor died, from /proc/PID/stat's exit_code field (52) while it is a zombie.
  int death_signal(pid_t pid) {
    const int code = poll_until(deadline_, [&] {
      const int c = zombie_exit_code(pid);
      return std::pair{c >= 0, c};
    });
    return code >= 0 ? (code & 0x7f) : 0;
  }

  bool run_line(std::size_t index) {
    const Line& line = script_.lines[index];
    if (line.call == "...") return complete(index);
    ActorHandle& h = actors_[line.actor];
    if (h.dead)
      return mismatch(line, "the actor to be alive", fmt::format("actor {} is dead", line.actor));
    if (actor_program_.empty())
      h.channel.send("step", std::to_string(index));
    else if (line.call == "fork")
      h.channel.send("fork", line.fork_child);
    else
      h.channel.send("call", encode_request(script_, line, prefix_));
    if (line.call == "fork") {
      const auto o = await_outcome(line.actor, line);
      if (!o || o->killed) return mismatch(line, "fork to succeed", "the actor did not fork");
      actors_[line.fork_child].pid = static_cast<pid_t>(o->result.value);
      return true;
    }
    if (line.expect.kind == Expectation::Kind::kBlocks) {
      const long nr = syscall_number(line.syscall);
      const ProcessState s = poll_until(deadline_, [&] {
        pollfd pfd{h.channel.in_fd(), POLLIN, 0};
        const ProcessState st = read_process_state(h.pid);
        return std::pair{
            st.blocked_in(nr) || ::poll(&pfd, 1, 0) > 0 || st.gone() || st.state == 'Z', st};
      });
      if (s.blocked_in(nr)) {
        pending_.insert(line.actor);
        return true;
      }
      const auto o = await_outcome(line.actor, line);
      return mismatch(
          line, fmt::format("the call blocks in {}", line.syscall),
          o ? (o->killed ? fmt::format("the actor was killed by {}", signal_name(o->signal))
                         : o->described)
            : s.describe());
    }
    const auto o = await_outcome(line.actor, line);
    if (!o)
      return mismatch(
          line, expected_text(line.expect),
          fmt::format(
              "{} blocked (actor {} is {}); if it should block, write '= ...' and complete it "
              "later with '{}: ... = RESULT'",
              line.call, line.actor, read_process_state(h.pid).describe(), line.actor));
    return check(line, line.expect, *o);
  }

  bool complete(std::size_t index) {
    const Line& line = script_.lines[index];
    const Line& blocked = script_.lines[line.blocked];
    const auto o = await_outcome(line.actor, blocked);
    pending_.erase(line.actor);
    if (!o)
      return mismatch(line, expected_text(line.expect),
                      fmt::format("{} is still blocked in {}", line.actor, blocked.syscall));
    Line shown = blocked;
    shown.at = line.at;  // the mismatch is on the line that says what the call returns
    shown.source = line.source + "   (completes line " + std::to_string(blocked.at.line) + ": " +
                   blocked.source + ")";
    return check(shown, line.expect, *o);
  }

  std::string expected_text(const Expectation& e) const {
    switch (e.kind) {
      case Expectation::Kind::kSucceeds:
        return "succeeds (>= 0)";
      case Expectation::Kind::kErrno: {
        std::string t;
        for (int err : e.errnos) t += (t.empty() ? "-1 " : " or -1 ") + errno_name(err);
        return t;
      }
      case Expectation::Kind::kBytes:
        return fmt::format("{} {}", e.value_given ? e.value : static_cast<long>(e.bytes.size()),
                           quote_bytes(e.bytes));
      case Expectation::Kind::kValue:
        return e.text.empty() ? std::to_string(e.value) : e.text;
      case Expectation::Kind::kBlocks:
        return "blocks";
      case Expectation::Kind::kKilled:
        return e.text;
    }
    return "?";
  }

  // A pathname is compared as the path (the bytes before its NUL): the kernel reports the
  // addrlen of what it stored, which for a path that filled sun_path includes a NUL the
  // caller never passed (unix(7) BUGS). An abstract name is compared byte for byte, since
  // its length is part of the name. A written "/addrlen=N" is compared too.
  static bool same_address(const UnixAddress& actual, const UnixAddress& expected,
                           bool compare_length) {
    if (compare_length && actual.length() != expected.length()) return false;
    if (actual.length() == 0 || expected.length() == 0) return actual.length() == expected.length();

    if (actual.family() != expected.family() || actual.is_abstract() != expected.is_abstract())
      return false;
    if (actual.is_abstract() || actual.is_unnamed() || expected.is_unnamed())
      return actual == expected;
    auto path = [](const UnixAddress& a) {
      std::string_view p = a.path_bytes();
      return p.substr(0, p.find('\0'));
    };
    return path(actual) == path(expected);
  }

  bool check(const Line& line, const Expectation& e, const Outcome& o) {
    const CallResult& r = o.result;
    const std::string expected = expected_text(e);
    if (o.killed) {
      if (e.kind == Expectation::Kind::kKilled && o.signal == e.signal) return true;
      return mismatch(
          line, expected,
          fmt::format("the actor was killed by {}", o.signal ? signal_name(o.signal) : "an exit"));
    }
    const std::string actual = o.described;
    switch (e.kind) {
      case Expectation::Kind::kKilled:
        return mismatch(line, expected, actual + " (the actor was not killed)");
      case Expectation::Kind::kBlocks:
        return mismatch(line, expected, actual);
      case Expectation::Kind::kSucceeds:
        if (r.failed()) return mismatch(line, expected, actual);
        break;
      case Expectation::Kind::kErrno:
        if (!r.failed() || std::find(e.errnos.begin(), e.errnos.end(), r.err) == e.errnos.end())
          return mismatch(line, expected, actual);
        return true;
      case Expectation::Kind::kValue:
        if (e.signal_set) {
          if (r.failed() || r.value != *e.signal_set)
            return mismatch(line, expected, actual + " (pending: " + r.data + ")");
          return true;
        }
        if (r.failed() || r.value != e.value) return mismatch(line, expected, actual);
        break;
      case Expectation::Kind::kBytes: {
        const long want = e.value_given ? e.value : static_cast<long>(e.bytes.size());
        if (r.failed() || r.value != want || r.data != e.bytes)
          return mismatch(line, expected, actual);
        break;
      }
    }
    // Attributes.
    if (e.msg_flags && r.msg_flags != *e.msg_flags)
      return mismatch(line, fmt::format("msg_flags={}", msg_flags_name(*e.msg_flags)), actual);
    if (e.address && !(r.address && same_address(*r.address, *e.address, e.address_length_written)))
      return mismatch(
          line, fmt::format("address {} (addrlen {})", e.address->describe(), e.address->length()),
          fmt::format("{} (addrlen {})", actual, r.address ? r.address->length() : 0));
    // AF_UNIX poll reports POLLRDNORM/POLLWRNORM beside POLLIN/POLLOUT; scripts name the latter.
    constexpr int kNormBits = POLLRDNORM | POLLWRNORM | POLLWRBAND;
    if (e.revents && (r.revents & ~kNormBits) != (*e.revents & ~kNormBits))
      return mismatch(
          line, fmt::format("revents={}", poll_events_name(*e.revents)),
          fmt::format("{} revents={}", actual, poll_events_name(r.revents & ~kNormBits)));
    if (r.fds.size() != e.bind_rights.size() && line.call == "recvmsg")
      return mismatch(line, fmt::format("{} fd(s) received with SCM_RIGHTS", e.bind_rights.size()),
                      fmt::format("{} ({} received)", actual, r.fds.size()));
    if (r.credentials && !e.expect_credentials)
      return mismatch(line, "no SCM_CREDENTIALS",
                      fmt::format("{} with SCM_CREDENTIALS(pid={}, uid={}, gid={})", actual,
                                  r.credentials->pid, r.credentials->uid, r.credentials->gid));
    if (e.expect_credentials) {
      if (!r.credentials)
        return mismatch(line, "SCM_CREDENTIALS received", actual + " (no credentials)");
      const pid_t want_pid = actors_[e.credentials_pid_actor].pid;
      if (!e.credentials_pid_actor.empty() && r.credentials->pid != want_pid)
        return mismatch(line,
                        fmt::format("credentials pid={} ({})", want_pid, e.credentials_pid_actor),
                        fmt::format("{} pid={}", actual, r.credentials->pid));
      if ((e.credentials_uid && static_cast<long>(r.credentials->uid) != *e.credentials_uid) ||
          (e.credentials_gid && static_cast<long>(r.credentials->gid) != *e.credentials_gid))
        return mismatch(
            line, "credentials uid/gid as written",
            fmt::format("{} uid={} gid={}", actual, r.credentials->uid, r.credentials->gid));
    }
    return true;
  }

  void stop_actors() {
    for (auto& [name, h] : actors_) {
      if (h.dead || h.pid <= 0) continue;
      try {
        h.channel.send("end");
      } catch (...) {
      }
    }
    for (auto& [name, h] : actors_) h.channel.close();
    // Actors end on "end" or on their channel closing; any that does not (blocked in a
    // call) is killed. Forked actors come back to this process (a child subreaper).
    for (auto& [name, h] : actors_)
      if (h.pid > 0) ::kill(h.pid, SIGKILL);
    while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
    }
  }

  const Script& script_;
  std::ostream& out_;
  std::string prefix_;
  Clock::time_point deadline_;
  std::map<std::string, ActorHandle> actors_;
  std::map<std::string, Channel> peer_sides_;
  std::set<std::string> pending_;  // actors whose call was seen blocked and is not yet completed
  std::string actor_program_;      // SOCKSPEC_ACTOR: actors run this program (empty: C++ actors)
};

}  // namespace

int interpret(const Script& script, std::ostream& out) {
  for (const auto& feature : script.requires_features)
    if (const std::string why = why_missing(feature); !why.empty()) {
      out << "skipped: " << why << "\n";
      return kScriptSkipped;
    }
  return Interpreter(script, out).run();
}

}  // namespace sockspec::script
