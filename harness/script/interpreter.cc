#include "script/interpreter.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "case/case.h"
#include "os/case_error.h"
#include "os/channel.h"
#include "os/host.h"
#include "os/names.h"
#include "os/proc.h"
#include "os/quote.h"
#include "os/spawn.h"
#include "os/wait.h"
#include "os/waits.h"
#include "protocol/case_protocol.h"
#include "script/calls.h"
#include "script/constants.h"
#include "script/fault_invariants.h"
#include "script/options.h"
#include "script/outcome.h"

namespace sockspec::script {

namespace {

// How long a call must be seen asleep in its syscall, with nothing else in progress that could
// release it, before the interpreter calls it blocked where the script said it returns.
constexpr auto kAsleepLongEnough = std::chrono::milliseconds(20);
// The same where /proc cannot say what the call waits for (gVisor names no syscall, and its
// sockets cannot be looked into): long enough for any timeout a case sets (SO_RCVTIMEO,
// SO_SNDTIMEO, poll's; 20 ms in today's cases) to have run out and the call to have returned.
constexpr auto kAsleepUnjudgedLongEnough = std::chrono::milliseconds(500);

// "SIGPIPE|SIGUSR1", or "none": a signal set as sigpending() reports it, bit s-1 for signal s.
std::string signal_set_names(long mask) {
  std::string names;
  for (int s = 1; s < 64; ++s)
    if (mask & (1L << (s - 1))) names += (names.empty() ? "" : "|") + signal_name(s);
  return names.empty() ? "none" : names;
}

// Bytes travel between processes as hex.
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

// The actor's request for a call line. Its format is the actor program's (actor.c):
//   NAME                 the call
//   result VAR           a variable the call's fd (socketpair: two) is bound to
//   rights VAR           a variable a received SCM_RIGHTS fd is bound to
// then one line per argument:
//   fd VAR | int N | bytes HEX | path HEX | addr HEX LEN | sendrights VAR... | creds
//   ints N... | byteslist HEX... ("-" for no bytes)
// `pid_of` gives an actor's pid, for an argument written pid(ACTOR).
std::string encode_request(const Script& script, const Line& line, const std::string& prefix,
                           const std::function<pid_t(const std::string&)>& pid_of) {
  std::string q = line.call + "\n";
  for (const auto& name : line.results) q += "result " + name + "\n";
  // An fd the script does not name is named all the same, after its line: an fd that is open
  // must have a name, or a faulted run takes it for a leak.
  if (const Call* call = find_call(line.call); line.results.empty() && call && call->binds == 1)
    q += fmt::format("result line{}\n", line.at.line);
  const Line& naming = line.completion ? script.lines[line.completion] : line;
  for (const auto& name : naming.expect.bind_rights) q += "rights " + name + "\n";
  for (const auto& a : line.arguments) {
    switch (a.kind) {
      case Argument::Kind::kVariable:
        q += "fd " + a.variable + "\n";
        break;
      case Argument::Kind::kInteger:
      case Argument::Kind::kHandler:
        q += fmt::format("int {}\n", a.pid_of.empty() ? a.integer : long{pid_of(a.pid_of)});
        break;
      case Argument::Kind::kBytes:
      case Argument::Kind::kOptionValue:
        q += "bytes " + to_hex(a.bytes) + "\n";
        break;
      case Argument::Kind::kPath:
        q += "path " + to_hex(a.bytes) + "\n";
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
      case Argument::Kind::kIntegers:
        q += fmt::format("ints {}\n", fmt::join(a.integers, " "));
        break;
      case Argument::Kind::kByteStrings: {
        q += "byteslist";
        for (const auto& b : a.byte_strings) q += " " + (b.empty() ? std::string("-") : to_hex(b));
        q += "\n";
        break;
      }
    }
  }
  // getsockopt is given a buffer of the option's size, unless the script says another.
  if (line.call == "getsockopt" && line.arguments.size() == 3)
    q += fmt::format(
        "int {}\n", option_size(option_kind(line.arguments[1].integer, line.arguments[2].integer)));
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
      case Argument::Kind::kHandler:
      case Argument::Kind::kOptionValue:
        shown.push_back(a.text.empty() ? std::to_string(a.integer) : a.text);
        break;
      case Argument::Kind::kBytes:
      case Argument::Kind::kPath:
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
      case Argument::Kind::kIntegers:
        shown.push_back(fmt::format("[{}]", fmt::join(a.integers, ", ")));
        break;
      case Argument::Kind::kByteStrings: {
        std::vector<std::string> quoted;
        for (const auto& b : a.byte_strings) quoted.push_back(quote_bytes(b, 16));
        shown.push_back(fmt::format("[{}]", fmt::join(quoted, ", ")));
        break;
      }
    }
  }
  return fmt::format("{}({})", line.call, fmt::join(shown, ", "));
}

// How the interpreter finds an actor's program: SOCKSPEC_ACTOR (the words of a command, one a
// line: a target's wrapper, then the program), or sockspec-actor beside this program.
std::vector<std::string> actor_command() {
  const std::string given = protocol::variable(protocol::kActorVariable);
  std::vector<std::string> words;
  std::istringstream lines(given);
  for (std::string word; std::getline(lines, word);)
    if (!word.empty()) words.push_back(word);
  if (words.empty())
    words.push_back(
        (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "sockspec-actor")
            .string());
  return words;
}

struct ActorHandle {
  pid_t pid = -1;   // the actor's process, or its thread's id
  pid_t tgid = -1;  // the process it belongs to (itself, but for a thread)
  Channel channel;
  bool dead = false;
  std::optional<Child> injector;  // strace injecting a fault into it
  bool forked = false;            // made by a fork line, not started by the interpreter
};

class Interpreter {
 public:
  Interpreter(const Script& script, std::ostream& out) : script_(script), out_(out) {}

  int run() {
    // A script of its own is a case of its own; a model's script runs inside the model's case.
    std::optional<Case> own;
    if (!Case::running()) own.emplace(script_.path);
    Case& here = own ? *own : Case::current();
    prefix_ = here.abstract_name("s") + ".";
    deadline_ = here.deadline();
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);

    // Every actor's channel exists before any socket: an actor forked (or a thread started)
    // later finds its channel already open in the process that makes it.
    std::map<std::string, Channel> later_channels;
    std::map<std::string, Channel> peer_sides;
    for (const auto& name : script_.actors) {
      ChannelPair pair = make_channel_pair(name);
      actors_[name].channel = std::move(pair.controller_side);
      peer_sides[name] = std::move(pair.peer_side);
    }
    for (const auto& name : script_.forked_actors)
      later_channels[name] = std::move(peer_sides[name]);
    for (const auto& name : script_.actors)
      if (!later_channels.contains(name)) start_actor(name, peer_sides[name], later_channels);
    peer_sides.clear();
    later_channels.clear();

    int status = kScriptPassed;
    try {
      if (!script_.fault.empty()) start_fault_invariants();
      for (std::size_t i = 0; i < script_.lines.size(); ++i)
        if (!run_line(i)) {
          status = kScriptFailed;
          break;
        }
      if (status == kScriptPassed && invariants_ && !fault_invariants_hold())
        status = kScriptFailed;
    } catch (const std::exception& e) {  // a deadline, or a call the actor could not make
      out_ << e.what() << "\n";          // it names file:line
      status = kScriptFailed;
    }
    if (!stop_actors(status == kScriptPassed)) status = kScriptFailed;
    return status;
  }

 private:
  // Starts an actor program. It keeps its channel and the channels of the actors it will
  // fork or start as threads, whose fds go on its command line; it gets no other fd. An actor
  // a fault will be injected into is started untraced, so that a strace around the whole
  // case (a traced re-run) leaves it free for the strace that injects.
  void start_actor(const std::string& name, const Channel& mine,
                   const std::map<std::string, Channel>& later_channels) {
    std::vector<std::string> args = actor_command();
    args.insert(args.end(), {name, std::to_string(mine.in_fd()), std::to_string(mine.out_fd())});
    std::vector<int> kept{mine.in_fd(), mine.out_fd()};
    for (const auto& [other, channel] : later_channels) {
      if (channel.in_fd() < 0) continue;
      args.push_back(fmt::format("{}:{}:{}", other, channel.in_fd(), channel.out_fd()));
      kept.push_back(channel.in_fd());
      kept.push_back(channel.out_fd());
    }
    try {
      Child actor = spawn({.argv = args,
                           .in = Redirect::inherit(),
                           .keep_fds = kept,
                           .untraced = has_injection(name)});
      actors_[name].pid = actors_[name].tgid = actor.pid();
      actor.forget();  // reaped with the other actors (stop_actors)
    } catch (const SpawnError& e) {
      throw CaseError(fmt::format("{}: the actor program: {}", script_.path, e.what()));
    }
  }

  bool has_injection(const std::string& actor) const {
    return std::any_of(script_.lines.begin(), script_.lines.end(), [&](const Line& l) {
      return l.actor == actor && l.kind == LineKind::kAction &&
             l.action.kind == Action::Kind::kInject;
    });
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

  // Only a call that can block is watched for blocking where the script says it returns;
  // any other (bind, listen) is waited for, however long the target takes.
  static bool can_block(const Line& line) {
    const Call* call = line.syscall.empty() ? nullptr : find_call(line.call);
    return call && call->can_block;
  }

  // What `h` waits for. kForTime — a poll() with a timeout, a recv() on a socket with
  // SO_RCVTIMEO — ends by itself: such a call is not stuck, however long it sleeps.
  // `line`: the call it is in, when known. The kernel resumes an interrupted poll() as
  // restart_syscall, with poll's own registers: judged as the poll it is.
  // `in_its_call`: judge only a sleep in the line's own syscall; a task seen in another has
  // left its call (or not reached it) and is running as far as that call goes. Under
  // valgrind, the actor's thread sleeps in a read() of valgrind's own lock pipe as the call
  // returns; judged as that read, a call that returned at its SO_RCVTIMEO looked blocked for
  // good. (Whether another actor may release this one is asked without it: an actor whose
  // call has returned waits on its channel, and cannot.)
  static WaitKind wait_of(const ActorHandle& h, const Line* line = nullptr,
                          bool in_its_call = false) {
    for (auto task : sample_tasks(h.tgid)) {
      if (task.tid != h.pid) continue;
      const long restart = syscall_number("restart_syscall");
      if (line && line->call == "poll" && task.syscall == restart)
        task.syscall = syscall_number("poll");
      if (in_its_call && line && task.syscall && *task.syscall != restart &&
          !makes_syscall(*line, *task.syscall))
        return WaitKind::kRunning;
      return judge_wait(task, Channel::kChannelFdFloor).kind;
    }
    return WaitKind::kUnknown;
  }

  // Is `nr` one of the syscalls `line`'s call makes (the names the call table gives)?
  static bool makes_syscall(const Line& line, long nr) {
    std::istringstream names(line.syscall);
    for (std::string name; std::getline(names, name, '|');)
      if (const long named = syscall_number(name); named >= 0 && same_call(named, nr)) return true;
    return false;
  }

  // Is `h` asleep in the syscall `line` makes (any of the names the call table gives)?
  // Where /proc does not name the syscall (gVisor), any sleep counts, so the actor must first
  // have read the whole request: until then it may be asleep reading it.
  static bool asleep_in(const ActorHandle& h, const Line& line) {
    int unread = 0;
    if (::ioctl(h.channel.out_fd(), FIONREAD, &unread) == 0 && unread > 0) return false;
    const ProcessState s = read_process_state(h.pid);
    // A call stopped for a moment (a tracer attaching to the process) and restarted by the
    // kernel shows as restart_syscall (poll, nanosleep, futex).
    if (const long nr = syscall_number("restart_syscall"); nr >= 0 && s.blocked_in(nr)) return true;
    std::istringstream names(line.syscall);
    for (std::string name; std::getline(names, name, '|');)
      if (const long nr = syscall_number(name); nr >= 0 && s.blocked_in(nr)) return true;
    return false;
  }

  // Waits for the actor's reply to `line`, watching it in /proc meanwhile. While no other
  // actor has a call in progress, nothing can release a call that sleeps in its syscall:
  // such a call is reported (nullopt) once it has been seen asleep for a moment, rather than
  // at the deadline. While another actor's call is in progress (it may be draining what this
  // one waits on), only the reply or the deadline ends the wait.
  std::optional<Outcome> await_outcome(const std::string& actor, const Line& line) {
    ActorHandle& h = actors_[actor];
    bool asleep = false;
    Clock::time_point asleep_since{};
    auto interval = std::chrono::milliseconds(1);
    while (true) {
      const bool others_in_progress = others_may_release(actor);
      // A wait on the harness channel alone while others are in progress: the runner's hang
      // verdict knows such a wait waits for another process of the case. A faulted run looks
      // again at short intervals, since the others may come to a stop.
      const auto wait = others_in_progress && !invariants_
                            ? std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now())
                            : interval;
      pollfd pfd{h.channel.in_fd(), POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(std::clamp<long long>(wait.count(), 0, 60'000))) > 0) {
        try {
          const Message m = h.channel.receive(deadline_, "a result");
          if (m.tag == "error")
            throw std::runtime_error(fmt::format("{}: {}", where(line), m.payload));
          return decode(m.payload);
        } catch (const CaseError&) {
          if (Clock::now() >= deadline_) throw;
          // The channel closed: the actor died during the call.
          h.dead = true;
          Outcome o;
          o.killed = true;
          o.signal = death_signal(h.tgid);
          return o;
        }
      }
      // Dead, though its channel is still open: another process of the case holds the
      // channel's other end (a sibling forked after it, under an emulator).
      if (invariants_) {
        if (const ProcessState st = read_process_state(h.tgid); st.gone() || st.state == 'Z') {
          h.dead = true;
          Outcome o;
          o.killed = true;
          o.signal = st.gone() ? 0 : death_signal(h.tgid);
          return o;
        }
      }
      if (Clock::now() >= deadline_)
        throw CaseError(
            fmt::format("{}: {} did not return before the case's deadline; actor {} is {}",
                        where(line), line.call.empty() ? std::string("the call") : line.call, actor,
                        read_process_state(h.pid).describe()));
      const WaitKind waits = can_block(line) && !others_in_progress && asleep_in(h, line)
                                 ? wait_of(h, &line, true)
                                 : WaitKind::kRunning;
      if (waits == WaitKind::kForOthers || waits == WaitKind::kUnknown) {
        if (!asleep) asleep = true, asleep_since = Clock::now();
        const auto long_enough =
            waits == WaitKind::kUnknown ? kAsleepUnjudgedLongEnough : kAsleepLongEnough;
        if (Clock::now() - asleep_since >= long_enough) return std::nullopt;
      } else {
        asleep = false;
      }
      interval = std::min(interval * 2, std::chrono::milliseconds(5));
    }
  }

  // Is another actor's call in progress, which could release `actor`'s? In a faulted run, a
  // call seen asleep, but for a timeout, cannot: after a fault, two actors may each wait for
  // the other for good, and the run goes on past both rather than to its deadline. (Where
  // /proc cannot say what a sleep waits for, gVisor, any sleep but a timed one counts.)
  bool others_may_release(const std::string& actor) const {
    return std::any_of(pending_.begin(), pending_.end(), [&](const std::string& other) {
      if (other == actor) return false;
      if (!invariants_ || actors_.at(other).dead) return true;
      const WaitKind wait =
          wait_of(actors_.at(other), in_call_.contains(other) ? in_call_.at(other) : nullptr);
      return wait == WaitKind::kRunning || wait == WaitKind::kForTime;
    });
  }

  // The actor reports bare results; the abstract prefix is taken off here.
  Outcome decode(const std::string& payload) const {
    Outcome o;
    const auto j = nlohmann::json::parse(payload);
    o.value = j.at("value");
    o.err = j.at("err");
    o.msg_flags = j.value("msg_flags", 0);
    o.revents = j.value("revents", 0);
    o.fds = j.value("fds", 0u);
    if (j.contains("data")) o.has_data = true, o.data = from_hex(j["data"]);
    if (j.contains("address")) {
      sockaddr_storage storage{};
      storage.ss_family = AF_UNIX;
      const std::string bytes = from_hex(j["address"]);
      std::memcpy(reinterpret_cast<char*>(&storage) + UnixAddress::kPathOffset, bytes.data(),
                  std::min(bytes.size(), sizeof(storage) - UnixAddress::kPathOffset));
      o.address = unprefixed(
          UnixAddress::from_kernel(storage, j.at("address_length").get<socklen_t>()), prefix_);
    }
    if (j.contains("credentials"))
      o.credentials = ucred{j["credentials"][0], j["credentials"][1], j["credentials"][2]};
    if (j.contains("events"))
      for (const auto& e : j["events"]) o.events.emplace_back(e[0], e[1]);
    if (j.contains("messages"))
      for (const auto& m : j["messages"]) o.messages.push_back(from_hex(m));
    if (j.contains("inodes")) o.bound_inodes = j["inodes"].get<std::vector<unsigned long>>();
    return o;
  }

  // What the call returned, as a person reads it: `recv(b, 3, MSG_PEEK) = 3 "abc"`. With
  // `all_bytes`, every byte received, in the language's own form (`"a" * 5000`): what an
  // observed line records, so that a reproducer can expect it and a comparison miss nothing.
  std::string describe(const Line& line, const Outcome& o, bool all_bytes = false) const {
    auto shown_bytes = [all_bytes](const std::string& bytes, std::size_t limit) {
      return all_bytes ? script_bytes(bytes) : quote_bytes(bytes, limit);
    };
    std::string text = written_call(line) + " = ";
    if (o.failed()) return text + "-1 " + errno_name(o.err);
    const Call& call = *find_call(line.call);
    if (call.attributes & kSignalSet) return text + signal_set_names(o.value);
    if (call.attributes & kOptionResult) {
      const OptionKind kind = option_kind(line.arguments[1].integer, line.arguments[2].integer);
      if (kind == OptionKind::kInt && line.arguments[1].integer == SOL_SOCKET &&
          line.arguments[2].integer == SO_ERROR && o.value > 0)
        return text + errno_name(static_cast<int>(o.value));  // the pending error, by name
      return text + (kind == OptionKind::kInt || !o.has_data ? std::to_string(o.value)
                                                             : describe_option(kind, o.data));
    }
    text += shown_value(call, o.value);
    if (call.attributes & kReceivesBytes) text += " " + shown_bytes(o.data, 64);
    if (call.attributes & kMessages) {
      std::vector<std::string> quoted;
      for (const auto& m : o.messages) quoted.push_back(shown_bytes(m, 24));
      text += fmt::format(" [{}]", fmt::join(quoted, ", "));
    }
    if (o.address)
      text += ((call.attributes & kAddressValue) ? " " : " from=") + o.address->describe();
    if (o.msg_flags != 0) text += " flags=" + msg_flags_name(o.msg_flags);
    if (call.attributes & kRevents) text += " revents=" + events_name(o.revents, "POLL");
    if (call.attributes & kEvents) {
      std::vector<std::string> shown;
      for (const auto& [fd, events] : o.events)
        shown.push_back(fmt::format("{}:{}", fd, events_name(events, "EPOLL")));
      text += fmt::format(" events=[{}]", fmt::join(shown, ", "));
    }
    if (o.fds && (call.attributes & kReceivesFds))
      text += fmt::format(" ({} fd(s) received)", o.fds);
    return text;
  }

  // How an actor died, from /proc/PID/stat's exit_code field (52) while it is a zombie. A
  // process with threads (an emulator's) shows its leader as a zombie while the others still
  // exit, and its fds close only with the last of them: the wait is for that one.
  int death_signal(pid_t pid) {
    const int code = poll_until(deadline_, [&] {
      const int c = zombie_exit_code(pid);
      return std::pair{c >= 0 && sample_tasks(pid).size() <= 1, c};
    });
    return code >= 0 ? (code & 0x7f) : 0;
  }

  bool run_line(std::size_t index) {
    const Line& line = script_.lines[index];
    if (invariants_ && line.kind != LineKind::kCall && line.kind != LineKind::kCompletion)
      if (const std::string why = why_not_made(line); !why.empty())
        return note(line, "not made: " + why), true;
    switch (line.kind) {
      case LineKind::kCompletion:
        return complete(index);
      case LineKind::kAction:
        return act(line);
      case LineKind::kFork:
      case LineKind::kThread:
        return make_actor(line);
      case LineKind::kCall:
        break;
    }
    if (line.expect.kind == Expectation::Kind::kObserved) return run_observed(line);
    ActorHandle& h = actors_[line.actor];
    if (h.dead)
      return mismatch(line, "the actor to be alive", fmt::format("actor {} is dead", line.actor));
    h.channel.send("call", encode_request(script_, line, prefix_, [this](const std::string& actor) {
                     return actors_[actor].tgid;
                   }));
    if (line.expect.kind == Expectation::Kind::kBlocks) {
      const ProcessState s = poll_until(deadline_, [&] {
        pollfd pfd{h.channel.in_fd(), POLLIN, 0};
        const ProcessState st = read_process_state(h.pid);
        return std::pair{
            asleep_in(h, line) || ::poll(&pfd, 1, 0) > 0 || st.gone() || st.state == 'Z', st};
      });
      if (asleep_in(h, line)) {
        pending_.insert(line.actor);
        in_call_[line.actor] = &line;
        if (invariants_) invariants_->call_blocked(h.tgid, line);
        return true;
      }
      const auto o = await_outcome(line.actor, line);
      return mismatch(
          line, fmt::format("the call blocks in {}", line.syscall),
          o ? (o->killed ? fmt::format("the actor was killed by {}", signal_name(o->signal))
                         : describe(line, *o))
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
    account(line, line, *o, /*observed=*/false);
    return check(line, line.expect, *o);
  }

  // --- a faulted run -------------------------------------------------------------------

  // The actors' processes as they start, and the fds each has before the case makes any.
  void start_fault_invariants() {
    invariants_.emplace(prefix_);
    for (auto& [name, h] : actors_) {
      if (h.pid <= 0) continue;  // forked later
      invariants_->process_started(h.tgid);
      fds_before_[h.tgid] = open_fds(h.tgid, named_fds(h));
    }
  }

  // The fds the actor's names hold (its "fds" reply).
  std::set<int> named_fds(ActorHandle& h) {
    if (!reached(h, "fds", "")) return {};
    const Message m = h.channel.receive(deadline_, "the actor's named fds");
    const auto j = nlohmann::json::parse(m.payload);
    return j.at("named").get<std::set<int>>();
  }

  // The fds open in `process` (from /proc) that are not stdio, the harness's channels (moved
  // above Channel::kChannelFdFloor) or in `named`.
  static std::set<int> open_fds(pid_t process, const std::set<int>& named) {
    std::set<int> open;
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", process), ec)) {
      const int fd = std::atoi(entry.path().filename().c_str());
      if (fd > 2 && fd < Channel::kChannelFdFloor && !named.contains(fd)) open.insert(fd);
    }
    return open;
  }

  // A call's result as the invariants see it: `naming` is the line whose expectation names
  // the received fds (a completion line names those of the call it completes).
  void account(const Line& line, const Line& naming, const Outcome& o, bool observed) {
    if (!invariants_) return;
    std::vector<std::string> names = line.results;
    for (const auto& n : naming.expect.bind_rights) names.push_back(n);
    const pid_t process = actors_[line.actor].tgid;
    invariants_->call_returned(process, line, names, o, observed);
    if (o.killed) process_died(process);
  }

  // Every actor of `process` is gone, and whatever only it held is closed.
  void process_died(pid_t process) {
    if (!invariants_) return;
    for (auto& [name, h] : actors_)
      if (h.tgid == process && !pending_.contains(name)) h.dead = true;
    invariants_->process_died(process);
  }

  // What an observed line ("= ?") came to, in the case's output: a failed faulted run shows
  // the whole exchange after its fault.
  void note(const Line& line, const std::string& what) {
    out_ << fmt::format("line {}: {}\n", line.at.line, what);
  }

  // After a fault the actor of a line may be dead, never made, or still in an earlier call:
  // nothing can act then, but a signal may reach a call in progress. "" when it can.
  std::string why_not_made(const Line& line) {
    const ActorHandle& h = actors_[line.actor];
    const bool signal = line.kind == LineKind::kAction && line.action.kind == Action::Kind::kSignal;
    if (h.dead) return fmt::format("actor {} is dead", line.actor);
    if (h.pid <= 0) return fmt::format("actor {} was never made", line.actor);
    if (pending_.contains(line.actor) && !signal)
      return fmt::format("{} is still in an earlier call", line.actor);
    return "";
  }

  // A line after the fault point: made if it can be, its result recorded, whatever it is.
  // A call that blocks is left in progress; a later "ACTOR: ... = ?" waits for it again.
  bool run_observed(const Line& line) {
    ActorHandle& h = actors_[line.actor];
    if (const std::string why = why_not_made(line); !why.empty())
      return note(line, "not made: " + why), true;
    if (!reached(h, "call", encode_request(script_, line, prefix_, [this](const std::string& a) {
                   return actors_[a].tgid;
                 })))
      return note(line, fmt::format("not made: actor {} died", line.actor)), true;
    std::optional<Outcome> o;
    try {
      o = await_outcome(line.actor, line);
    } catch (const CaseError&) {
      throw;
    } catch (const std::runtime_error& e) {  // a name an earlier failed call never bound
      return note(line, fmt::format("not made: {}", e.what())), true;
    }
    if (!o) {
      pending_.insert(line.actor);
      in_call_[line.actor] = &line;
      invariants_->call_blocked(h.tgid, line);
      note(line, fmt::format("{} blocks", written_call(line)));
      if (!line.completion) invariants_->observed_call_stuck(h.tgid, line);
      return true;
    }
    note(line, o->killed ? fmt::format("{}: the actor was killed by {}", written_call(line),
                                       signal_name(o->signal))
                         : describe(line, *o, /*all_bytes=*/true));
    account(line, line, *o, /*observed=*/true);
    return true;
  }

  // Sends `tag` to the actor of a faulted run. One whose channel is closed has died, of the
  // fault or with a process the fault killed: it is dead from here, and false says so.
  bool reached(ActorHandle& h, const std::string& tag, const std::string& payload) {
    try {
      h.channel.send(tag, payload);
      return true;
    } catch (const CaseError&) {
      const ProcessState st = read_process_state(h.tgid);
      if (!st.gone() && st.state != 'Z') throw;
      h.dead = true;
      return false;
    }
  }

  // "ACTOR: ... = ?": the observed call ACTOR may still be in returns, or is seen stuck.
  bool complete_observed(const Line& line, const Line& blocked) {
    // It returned, or was never made (the actor is still in an earlier call).
    if (!pending_.contains(line.actor) || in_call_[line.actor] != &blocked) return true;
    const auto o = await_outcome(line.actor, blocked);
    if (!o) {
      note(line, fmt::format("{} is still blocked", written_call(blocked)));
      invariants_->observed_call_stuck(actors_[line.actor].tgid, blocked);
      return true;
    }
    pending_.erase(line.actor);
    note(line, o->killed ? fmt::format("{}: the actor was killed by {}", written_call(blocked),
                                       signal_name(o->signal))
                         : describe(blocked, *o, /*all_bytes=*/true));
    account(blocked, line, *o, /*observed=*/true);
    return true;
  }

  // At the end of a faulted run: the invariants found nothing, and no actor process that can
  // still answer holds an fd no name of it holds (a received fd neither delivered nor closed).
  bool fault_invariants_hold() {
    std::vector<std::string> found = invariants_->violations();
    for (auto& [name, h] : actors_) {
      if (h.dead || h.pid <= 0 || h.pid != h.tgid || pending_.contains(name)) continue;
      const std::set<int> before = fds_before_[h.tgid];
      const std::set<int> named = named_fds(h);
      if (h.dead) continue;  // it died with a process the fault killed
      for (const int fd : open_fds(h.tgid, named))
        if (!before.contains(fd)) {
          std::error_code ec;
          const auto what =
              std::filesystem::read_symlink(fmt::format("/proc/{}/fd/{}", h.tgid, fd), ec);
          found.push_back(fmt::format(
              "end: actor {} holds fd {} ({}), which none of its names holds: an fd leaked "
              "(a received SCM_RIGHTS fd must be delivered to a name or closed)",
              name, fd, ec ? "?" : what.string()));
        }
    }
    if (found.empty()) return true;
    out_ << fmt::format("{}: the fault invariants do not hold ({}):\n", script_.path,
                        script_.fault);
    for (const auto& v : found) out_ << "  " << v << "\n";
    return false;
  }

  bool make_actor(const Line& line) {
    ActorHandle& h = actors_[line.actor];
    const bool thread = line.kind == LineKind::kThread;
    h.channel.send(thread ? "thread" : "fork", line.new_actor);
    const auto o = await_outcome(line.actor, line);
    if (!o || o->killed || o->failed())
      return mismatch(line, fmt::format("{} to succeed", thread ? "the thread" : "fork"),
                      o && o->failed() ? errno_name(o->err) : "the actor did not answer");
    ActorHandle& made = actors_[line.new_actor];
    made.pid = static_cast<pid_t>(o->value);
    made.tgid = thread ? h.tgid : made.pid;
    // A forked actor says when it is ready: its own setup (closing its parent's channel) is
    // over, and its next call is the script's.
    if (!thread) made.channel.receive(deadline_, "the forked actor's ready");
    made.forked = !thread;
    if (invariants_ && !thread) {
      invariants_->process_started(made.tgid, h.tgid);
      fds_before_[made.tgid] = fds_before_[h.tgid];
    }
    return true;
  }

  // The environment acts on an actor.
  bool act(const Line& line) {
    ActorHandle& h = actors_[line.actor];
    const Action& a = line.action;
    switch (a.kind) {
      case Action::Kind::kSignal: {
        // A thread gets its signal itself (tgkill); a process, to whichever thread takes it.
        const int sent =
            h.pid == h.tgid ? ::kill(h.pid, a.signal) : ::tgkill(h.tgid, h.pid, a.signal);
        if (sent != 0)
          return mismatch(line,
                          fmt::format("{} sent to actor {}", signal_name(a.signal), line.actor),
                          fmt::format("kill: {}", errno_name(errno)));
        // Wait until it has taken the signal: then the next line sees its effect.
        poll_until(deadline_, [&] {
          const bool taken = !signal_pending(h.pid, a.signal) ||
                             read_process_state(h.tgid).gone() ||
                             read_process_state(h.tgid).state == 'Z';
          return std::pair{taken, taken};
        });
        if (a.signal == SIGKILL && !pending_.contains(line.actor)) {
          h.dead = true;
          death_signal(h.tgid);
          process_died(h.tgid);
        }
        return true;
      }
      case Action::Kind::kAs:
        return act_in_actor(line, "as", fmt::format("{} {}", a.uid, a.gid),
                            fmt::format("to run as uid {} gid {}", a.uid, a.gid));
      case Action::Kind::kLimit:
        return act_in_actor(line, "limit",
                            fmt::format("{} {} {}", a.resource, a.limit, int{a.room}),
                            a.room ? fmt::format("room for {} more fds", a.limit)
                                   : fmt::format("its limit set to {}", a.limit));
      case Action::Kind::kUnshareNet:
        return act_in_actor(line, "unshare", "", "a new network namespace");
      case Action::Kind::kLandlockScope:
        return act_in_actor(line, "landlock", "abstract",
                            "a Landlock domain scoped to its own abstract sockets");
      case Action::Kind::kInject:
        return inject(line, h);
    }
    return true;
  }

  // An action the actor takes on itself: it answers with a result, 0 or -1 with errno.
  bool act_in_actor(const Line& line, const char* tag, const std::string& payload,
                    const std::string& what) {
    ActorHandle& h = actors_[line.actor];
    if (invariants_ && !reached(h, tag, payload))
      return note(line, fmt::format("not made: actor {} died", line.actor)), true;
    if (!invariants_) h.channel.send(tag, payload);
    const auto o = await_outcome(line.actor, line);
    // After a fault the environment's action may fail like a call (a Landlock ruleset needs
    // an fd): shown, and left to the invariants.
    if (invariants_ && o && (o->killed || o->failed()))
      return note(line, fmt::format("{} failed: {}", tag,
                                    o->killed ? "the actor was killed" : errno_name(o->err))),
             true;
    if (!o || o->killed || o->failed())
      return mismatch(
          line, what,
          o && o->failed() ? fmt::format("-1 {}", errno_name(o->err)) : "the actor did not answer");
    return true;
  }

  // strace attaches to the actor and fails its next `syscall` with the error, without the
  // kernel ever running it; the actor goes on only once strace is attached.
  bool inject(const Line& line, ActorHandle& h) {
    const Action& a = line.action;
    const std::string trace = Case::current().trace_path(line.actor).string();
    const std::vector<std::string> argv = strace_command(
        {.output = trace,
         .inject = {fmt::format("inject={}:error={}:when=1", a.syscall, errno_name(a.error))},
         .attach = h.pid,
         .quiet = true});
    try {
      h.injector.emplace(spawn({.argv = argv, .untraced = true}));
    } catch (const SpawnError& e) {
      return mismatch(line, "strace to attach", e.what());
    }
    // strace is the actor's tracer from PTRACE_SEIZE on, a moment before it stops the actor
    // at system calls; a call made in that moment would not be failed. It writes the call
    // the actor waits in (the read of its next request) once it is stopping it at calls, so
    // the attach is complete when the trace has its first bytes.
    const pid_t tracer = h.injector->pid();
    const auto tracing = [&] {
      std::error_code ec;
      const auto written = std::filesystem::file_size(trace, ec);
      return tracer_of(h.pid) == tracer && !ec && written > 0;
    };
    const bool attached = poll_until(deadline_, [&] {
      const bool done =
          tracing() || !h.injector->running() || read_process_state(tracer).state == 'Z';
      return std::pair{done, tracing()};
    });
    if (!attached)
      return mismatch(line, fmt::format("strace attached to actor {}", line.actor),
                      fmt::format("it did not attach (command: {})", fmt::join(argv, " ")));
    return true;
  }

  bool complete(std::size_t index) {
    const Line& line = script_.lines[index];
    const Line& blocked = script_.lines[line.blocked];
    if (line.expect.kind == Expectation::Kind::kObserved) return complete_observed(line, blocked);
    const auto o = await_outcome(line.actor, blocked);
    pending_.erase(line.actor);
    if (!o)
      return mismatch(line, expected_text(line.expect),
                      fmt::format("{} is still blocked in {}", line.actor, blocked.syscall));
    Line shown = blocked;
    shown.at = line.at;  // the mismatch is on the line that says what the call returns
    shown.source = line.source + "   (completes line " + std::to_string(blocked.at.line) + ": " +
                   blocked.source + ")";
    account(blocked, line, *o, /*observed=*/false);
    return check(shown, line.expect, *o);
  }

  // A value as a reader knows it: an st_mode as "S_IFSOCK|0777", a magic number in hex.
  static std::string shown_value(const Call& call, long value) {
    if (call.attributes & kFileMode) return file_mode_name(value);
    if (call.attributes & kMagicNumber) return fmt::format("{:#x}", value);
    return std::to_string(value);
  }

  // `call`: the call whose result is expected, for how its value is shown (may be null).
  static std::string expected_text(const Expectation& e, const Call* call = nullptr) {
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
        if (call && (call->attributes & (kFileMode | kMagicNumber)))
          return shown_value(*call, e.value);
        return e.text.empty() ? std::to_string(e.value) : e.text;
      case Expectation::Kind::kStruct:
        return e.text;
      case Expectation::Kind::kBlocks:
        return "blocks";
      case Expectation::Kind::kKilled:
        return e.text;
      case Expectation::Kind::kObserved:
        return "any result";
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

  // The value an actor-valued field means: pid=server is the server's pid.
  long field_value(const Field& f) {
    return f.actor.empty() ? f.value : static_cast<long>(actors_[f.actor].tgid);
  }

  bool check(const Line& line, const Expectation& e, const Outcome& o) {
    const std::string expected = expected_text(e, find_call(line.call));
    if (o.killed) {
      if (e.kind == Expectation::Kind::kKilled && o.signal == e.signal) return true;
      return mismatch(
          line, expected,
          fmt::format("the actor was killed by {}", o.signal ? signal_name(o.signal) : "an exit"));
    }
    const std::string actual = describe(line, o);
    switch (e.kind) {
      case Expectation::Kind::kObserved:
        return true;
      case Expectation::Kind::kKilled:
        return mismatch(line, expected, actual + " (the actor was not killed)");
      case Expectation::Kind::kBlocks:
        return mismatch(line, expected, actual);
      case Expectation::Kind::kSucceeds:
        if (o.failed()) return mismatch(line, expected, actual);
        break;
      case Expectation::Kind::kErrno:
        if (!o.failed() || std::find(e.errnos.begin(), e.errnos.end(), o.err) == e.errnos.end())
          return mismatch(line, expected, actual);
        return true;
      case Expectation::Kind::kValue:
        if (e.signal_set) {
          if (o.failed() || o.value != *e.signal_set) return mismatch(line, expected, actual);
          return true;
        }
        if (o.failed() || o.value != e.value) return mismatch(line, expected, actual);
        break;
      case Expectation::Kind::kStruct: {
        if (o.failed()) return mismatch(line, expected, actual);
        const OptionKind kind = option_kind(line.arguments[1].integer, line.arguments[2].integer);
        const auto values = decode_option(kind, o.data);
        const auto& names = option_fields(kind);
        for (const auto& f : e.fields) {
          const auto at = std::find(names.begin(), names.end(), f.name) - names.begin();
          if (values.at(static_cast<std::size_t>(at)) != field_value(f))
            return mismatch(line, fmt::format("{} ({}={})", expected, f.name, field_value(f)),
                            actual);
        }
        return true;
      }
      case Expectation::Kind::kBytes: {
        const long want = e.value_given ? e.value : static_cast<long>(e.bytes.size());
        if (o.failed() || o.value != want || o.data != e.bytes)
          return mismatch(line, expected, actual);
        break;
      }
    }
    return check_attributes(line, e, o, actual);
  }

  bool check_attributes(const Line& line, const Expectation& e, const Outcome& o,
                        const std::string& actual) {
    const unsigned attributes = find_call(line.call)->attributes;
    if (e.messages && o.messages != *e.messages) {
      std::vector<std::string> quoted;
      for (const auto& m : *e.messages) quoted.push_back(quote_bytes(m, 24));
      return mismatch(line, fmt::format("{} [{}]", e.value, fmt::join(quoted, ", ")), actual);
    }
    if (e.msg_flags && o.msg_flags != *e.msg_flags)
      return mismatch(line, fmt::format("flags={}", msg_flags_name(*e.msg_flags)), actual);
    if (e.address && !(o.address && same_address(*o.address, *e.address, e.address_length_written)))
      return mismatch(
          line, fmt::format("address {} (addrlen {})", e.address->describe(), e.address->length()),
          fmt::format("{} (addrlen {})", actual, o.address ? o.address->length() : 0));
    // AF_UNIX poll reports POLLRDNORM/POLLWRNORM beside POLLIN/POLLOUT; scripts name the latter.
    constexpr int kNormBits = POLLRDNORM | POLLWRNORM | POLLWRBAND;
    if (e.revents && (o.revents & ~kNormBits) != (*e.revents & ~kNormBits))
      return mismatch(line, fmt::format("revents={}", events_name(*e.revents, "POLL")), actual);
    if (e.events && o.events != *e.events) {
      std::vector<std::string> shown;
      for (const auto& [fd, events] : *e.events)
        shown.push_back(fmt::format("{}:{}", fd, events_name(events, "EPOLL")));
      return mismatch(line, fmt::format("events=[{}]", fmt::join(shown, ", ")), actual);
    }
    if ((attributes & kReceivesFds) && o.fds != e.bind_rights.size())
      return mismatch(line, fmt::format("{} fd(s) received with SCM_RIGHTS", e.bind_rights.size()),
                      actual);
    if (o.credentials && !e.expect_credentials)
      return mismatch(line, "no SCM_CREDENTIALS",
                      fmt::format("{} with SCM_CREDENTIALS(pid={}, uid={}, gid={})", actual,
                                  o.credentials->pid, o.credentials->uid, o.credentials->gid));
    if (e.expect_credentials) {
      if (!o.credentials)
        return mismatch(line, "SCM_CREDENTIALS received", actual + " (no credentials)");
      const pid_t want_pid =
          e.credentials_pid_actor.empty() ? 0 : actors_[e.credentials_pid_actor].tgid;
      if (!e.credentials_pid_actor.empty() && o.credentials->pid != want_pid)
        return mismatch(line,
                        fmt::format("credentials pid={} ({})", want_pid, e.credentials_pid_actor),
                        fmt::format("{} pid={}", actual, o.credentials->pid));
      if ((e.credentials_uid && static_cast<long>(o.credentials->uid) != *e.credentials_uid) ||
          (e.credentials_gid && static_cast<long>(o.credentials->gid) != *e.credentials_gid))
        return mismatch(
            line, "credentials uid/gid as written",
            fmt::format("{} uid={} gid={}", actual, o.credentials->uid, o.credentials->gid));
    }
    return true;
  }

  // Tells every actor the case is over and waits a moment for each to end; an actor still
  // running then (one blocked in a call) is killed. An actor that ended with a status other
  // than 0 fails the case: under memcheck, status 97 is a memory error it found. Forked
  // actors come back to this process, a child subreaper.
  bool stop_actors(bool passed) {
    std::map<pid_t, std::string> names;
    for (auto& [name, h] : actors_) {
      if (h.dead || h.pid <= 0 || h.pid != h.tgid) continue;  // a thread ends with its process
      names[h.pid] = name;
      try {
        h.channel.send("end");
      } catch (...) {  // the actor is gone already: nothing to tell it
      }
    }
    for (auto& [name, h] : actors_) h.channel.close();
    // After a failure an actor may be in a call that never returns, and a call left blocked
    // at the end of a passing script never will: such actors could not read "end".
    for (auto& [name, h] : actors_)
      if (h.tgid > 0 && (!passed || pending_.contains(name))) ::kill(h.tgid, SIGKILL);
    std::map<pid_t, int> statuses;
    poll_until(Clock::now() + std::chrono::seconds(2), [&] {
      int status = 0;
      pid_t pid;
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) statuses[pid] = status;
      return std::pair{pid < 0, 0};  // ECHILD: every child is reaped
    });
    // A faulted run's invariant: an actor told the case is over ends. Only the actors this
    // process started are held to it: a forked actor is its parent actor's child, whose end
    // this process may not see itself; on gVisor under load /proc went on showing forked
    // actors long after they were told to end, though alone they end at once.
    const auto ended = [&](const ActorHandle& h) {
      const ProcessState st = read_process_state(h.tgid);
      return statuses.contains(h.tgid) || st.gone() || st.state == 'Z';
    };
    if (invariants_ && passed)
      for (auto& [name, h] : actors_) {
        if (h.tgid <= 0 || h.forked || !names.contains(h.tgid) || pending_.contains(name)) continue;
        // Until the case's deadline: a loaded emulator may take seconds to end a process.
        if (poll_until(deadline_, [&] { return std::pair{ended(h), ended(h)}; })) continue;
        out_ << fmt::format(
            "{}: the fault invariants do not hold ({}):\n  end: actor {} was "
            "still running at the case's deadline: a process left behind\n",
            script_.path, script_.fault, name);
        passed = false;
      }
    for (auto& [name, h] : actors_) {
      if (h.tgid <= 0 || statuses.contains(h.tgid)) continue;
      ::kill(h.tgid, SIGKILL);
    }
    for (auto& [name, h] : actors_) h.injector.reset();  // strace ends with its tracee
    while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
    }
    for (const auto& [pid, status] : statuses) {
      const ExitStatus how = ExitStatus::from_wait_status(status);
      if (!names.contains(pid) || how.success() || !how.exited) continue;
      out_ << fmt::format(
          "{}: actor {} {} after the case ended{}\n", script_.path, names[pid], how.describe(),
          how.code == 97 ? " (under memcheck: a memory error, reported above)" : "");
      passed = false;
    }
    return passed;
  }

  const Script& script_;
  std::ostream& out_;
  std::string prefix_;
  Clock::time_point deadline_;
  std::map<std::string, ActorHandle> actors_;
  std::set<std::string> pending_;  // actors whose call was seen blocked and is not yet completed
  std::map<std::string, const Line*> in_call_;  // the call each of those is in
  // A faulted run ("# Fault:"): what must hold whatever the fault, and the fds each actor
  // process had before the case made any (an emulator's own), which are not leaks.
  std::optional<FaultInvariants> invariants_;
  std::map<pid_t, std::set<int>> fds_before_;
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
