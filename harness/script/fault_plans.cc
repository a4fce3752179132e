#include "script/fault_plans.h"

#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "os/names.h"
#include "script/calls.h"
#include "script/documented_errors.h"

namespace sockspec::script {

namespace {

constexpr std::size_t kNowhere = static_cast<std::size_t>(-1);

// How one faulted case differs from the case: lines put before or after a line of the case
// (by its index in Script::lines), lines written anew or left out, and the line from which
// on results are only observed.
struct Edit {
  std::map<std::size_t, std::vector<std::string>> before, after;
  std::map<std::size_t, std::string> rewritten;
  std::set<std::size_t> dropped;
  std::size_t observe_from = kNowhere;
};

// The line with another expectation: `recv(r, 3, 0) = -1 EINTR`.
std::string with_expectation(const Line& line, const std::string& expectation) {
  if (line.kind == LineKind::kCompletion)
    return fmt::format("{}: ... = {}", line.actor, expectation);
  if (line.expect.at.column == 0) return fmt::format("{} = {}", line.source, expectation);
  return line.source.substr(0, static_cast<std::size_t>(line.expect.at.column - 1)) + expectation;
}

// The line with its result left to the invariants; the names it gave received fds stay.
std::string observed(const Line& line) {
  if (line.kind != LineKind::kCall && line.kind != LineKind::kCompletion) return line.source;
  std::string rights;
  if (!line.expect.bind_rights.empty())
    rights = fmt::format(" SCM_RIGHTS({})", fmt::join(line.expect.bind_rights, ", "));
  return with_expectation(line, "?" + rights);
}

class Planner {
 public:
  Planner(const Script& script, const std::string& text) : script_(script) {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) file_lines_.push_back(l);
    for (std::size_t i = 0; i < script.lines.size(); ++i) index_at_[script.lines[i].at.line] = i;
  }

  std::vector<FaultedCase> run(const std::vector<std::string>& plans) {
    add("none", "none: the case as written", 0, Edit{});
    for (const auto& plan : plans) {
      if (plan == "inject") inject();
      if (plan == "signal") signal();
      if (plan == "kill") kill();
      if (plan == "limits") limits();
    }
    return std::move(cases_);
  }

 private:
  bool is_thread(const std::string& actor) const {
    const auto& t = script_.thread_actors;
    return std::find(t.begin(), t.end(), actor) != t.end();
  }

  // The faulted case's text: the case's lines with the edit made, and the fault in the header.
  std::string write(const std::string& fault, const Edit& edit, bool needs_strace) const {
    std::string out;
    bool header_done = false;
    for (std::size_t n = 0; n < file_lines_.size(); ++n) {
      const auto code = index_at_.find(static_cast<int>(n + 1));
      if (code == index_at_.end()) {
        out += file_lines_[n] + "\n";
        if (!header_done && file_lines_[n].starts_with("#")) {
          header_done = true;  // the rule, then what was done to the case
          out += "# Fault: " + fault + "\n";
          if (needs_strace &&
              std::find(script_.requires_features.begin(), script_.requires_features.end(),
                        "strace") == script_.requires_features.end())
            out += "# REQUIRES: strace\n";
        }
        continue;
      }
      const std::size_t i = code->second;
      const Line& line = script_.lines[i];
      if (const auto b = edit.before.find(i); b != edit.before.end())
        for (const auto& l : b->second) out += l + "   # the fault\n";
      if (edit.dropped.contains(i)) {
        out += "# (left out: " + line.source + ")\n";
      } else if (const auto r = edit.rewritten.find(i); r != edit.rewritten.end()) {
        out += r->second + "   # what the fault must give\n";
      } else if (i >= edit.observe_from) {
        out += observed(line) + "\n";
      } else {
        out += file_lines_[n] + "\n";
      }
      if (const auto a = edit.after.find(i); a != edit.after.end())
        for (const auto& l : a->second) out += l + "   # the fault\n";
    }
    return out;
  }

  void add(const std::string& plan, const std::string& fault, int line, const Edit& edit,
           bool needs_strace = false) {
    cases_.push_back({plan, fault, line, write(fault, edit, needs_strace)});
  }

  // Each call fails, before it reaches the kernel, with each run-time errno its pages list.
  void inject() {
    for (std::size_t i = 0; i < script_.lines.size(); ++i) {
      const Line& line = script_.lines[i];
      if (line.kind != LineKind::kCall) continue;
      const Call* call = find_call(line.call);
      const DocumentedErrors* errors = documented_errors(line.call);
      // The actor talks to the interpreter with read() and write(): no fault goes into those.
      if (!call || !errors || call->syscall == "read" || call->syscall == "write") continue;
      for (const int err : errors->run_time) {
        Edit edit;
        const std::string name = errno_name(err);
        edit.before[i] = {fmt::format("{}: inject {} into {}", line.actor, name, line.call)};
        edit.rewritten[i] = with_expectation(line, "-1 " + name);
        if (line.completion) edit.dropped.insert(line.completion);
        edit.observe_from = i + 1;
        add("inject",
            fmt::format("inject {} into {} at line {} ({})", name, line.call, line.at.line,
                        line.actor),
            line.at.line, edit, /*needs_strace=*/true);
      }
    }
  }

  // The fd a call works on, when its first argument is one.
  static std::string fd_of(const Line& line) {
    return !line.arguments.empty() && line.arguments[0].kind == Argument::Kind::kVariable
               ? line.arguments[0].variable
               : "";
  }

  // Was one of `options` set on `fd` before line `until`? (By any actor: a thread shares
  // the names of the actor that made it.)
  bool was_set(const std::string& fd, std::size_t until,
               std::initializer_list<long> options) const {
    for (std::size_t i = 0; i < until; ++i) {
      const Line& l = script_.lines[i];
      if (l.kind == LineKind::kCall && l.call == "setsockopt" && fd_of(l) == fd &&
          l.arguments.size() > 2 &&
          std::find(options.begin(), options.end(), l.arguments[2].integer) != options.end())
        return true;
    }
    return false;
  }

  // The signal the plan sends: SIGUSR1, or another the case does not use itself.
  std::string unused_signal() const {
    for (const char* name : {"SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGPROF"})
      if (std::none_of(file_lines_.begin(), file_lines_.end(),
                       [&](const std::string& l) { return l.find(name) != std::string::npos; }))
        return name;
    return "SIGUSR1";
  }

  // A signal whose handler returns reaches each call that blocks, while it is blocked.
  void signal() {
    for (std::size_t i = 0; i < script_.lines.size(); ++i) {
      const Line& line = script_.lines[i];
      if (line.kind != LineKind::kCall || line.expect.kind != Expectation::Kind::kBlocks ||
          !line.completion)
        continue;
      // A call that may have moved part of its data when the signal came returns how much
      // (send(2); recv(2) with MSG_WAITALL), whether or not SA_RESTART is set: such a result
      // is left to the invariants.
      const bool waits_for_all =
          line.call.starts_with("recv") &&
          ((line.arguments.size() > 2 && (line.arguments[2].integer & MSG_WAITALL)) ||
           was_set(fd_of(line), i, {SO_RCVLOWAT}));
      const bool sends =
          line.call.starts_with("send") || line.call.starts_with("write") || waits_for_all;
      // signal(7): poll, select and epoll_wait always fail with EINTR; a socket call with a
      // timeout too; the others restart under SA_RESTART.
      const bool never_restarted = line.call == "poll" || line.call == "select" ||
                                   line.call == "epoll_wait" ||
                                   was_set(fd_of(line), i, {SO_RCVTIMEO, SO_SNDTIMEO});
      const std::string sig = unused_signal();
      for (const bool restart : {true, false}) {
        Edit edit;
        edit.before[i] = {fmt::format("{}: sigaction({}, catch, {}) = 0", line.actor, sig,
                                      restart ? "SA_RESTART" : "0")};
        edit.after[i] = {fmt::format("{}: <- {}", line.actor, sig)};
        if (restart && !never_restarted && !sends) {
          // Restarted: the case goes on exactly as written.
        } else {
          // Interrupted: EINTR; a send that moved bytes first returns how many (send(2)),
          // which is left to the invariants.
          edit.rewritten[line.completion] =
              sends ? observed(script_.lines[line.completion])
                    : with_expectation(script_.lines[line.completion], "-1 EINTR");
          edit.observe_from = i + 1;
        }
        add("signal",
            fmt::format("{} {} SA_RESTART while {} is blocked in {} at line {}", sig,
                        restart ? "with" : "without", line.actor, line.call, line.at.line),
            line.at.line, edit);
      }
    }
  }

  // The threads `actor`'s process runs, which die with it.
  std::set<std::string> process_of(const std::string& actor) const {
    std::set<std::string> members{actor};
    for (const auto& l : script_.lines)
      if (l.kind == LineKind::kThread && members.contains(l.actor)) members.insert(l.new_actor);
    return members;
  }

  // Each actor process dies after each of its calls.
  void kill() {
    for (const auto& actor : script_.actors) {
      if (is_thread(actor)) continue;
      const std::set<std::string> dying = process_of(actor);
      for (std::size_t i = 0; i < script_.lines.size(); ++i) {
        const Line& line = script_.lines[i];
        const bool returned =
            (line.kind == LineKind::kCall && line.expect.kind != Expectation::Kind::kBlocks) ||
            line.kind == LineKind::kCompletion;
        if (line.actor != actor || !returned || line.expect.kind == Expectation::Kind::kKilled)
          continue;
        Edit edit;
        edit.after[i] = {fmt::format("{}: <- SIGKILL", actor)};
        // The dead make no more calls; the actors they would have forked never exist.
        std::set<std::string> gone = dying;
        for (std::size_t j = i + 1; j < script_.lines.size(); ++j) {
          const Line& later = script_.lines[j];
          if (!gone.contains(later.actor)) continue;
          edit.dropped.insert(j);
          if (later.kind == LineKind::kFork || later.kind == LineKind::kThread)
            gone.insert(later.new_actor);
        }
        edit.observe_from = i + 1;
        add("kill", fmt::format("SIGKILL {} after line {}", actor, line.at.line), line.at.line,
            edit);
      }
    }
  }

  // Each actor process meets its fd limit, and each socket the smallest send buffer.
  void limits() {
    for (const auto& actor : script_.actors) {
      if (is_thread(actor)) continue;
      const auto first = std::find_if(script_.lines.begin(), script_.lines.end(),
                                      [&](const Line& l) { return l.actor == actor; });
      if (first == script_.lines.end()) continue;
      const std::size_t i = static_cast<std::size_t>(first - script_.lines.begin());
      for (const int room : {0, 1, 2}) {
        Edit edit;
        edit.before[i] = {fmt::format("{}: limit RLIMIT_NOFILE +{}", actor, room)};
        edit.observe_from = i;
        add("limits",
            fmt::format("RLIMIT_NOFILE lets {} open {} more fd{} from line {}", actor, room,
                        room == 1 ? "" : "s", first->at.line),
            first->at.line, edit);
      }
    }
    for (std::size_t i = 0; i < script_.lines.size(); ++i) {
      const Line& line = script_.lines[i];
      const bool makes_sockets = line.call == "socket" || line.call == "socketpair" ||
                                 line.call == "accept" || line.call == "accept4";
      const bool unix_domain = line.call.starts_with("accept") ||
                               (!line.arguments.empty() && line.arguments[0].integer == AF_UNIX);
      if (line.kind != LineKind::kCall || !makes_sockets || !unix_domain ||
          line.expect.kind == Expectation::Kind::kErrno)
        continue;
      const std::size_t made_at = line.completion ? line.completion : i;
      if (script_.lines[made_at].expect.kind == Expectation::Kind::kErrno) continue;
      for (const auto& fd : line.results) {
        Edit edit;
        edit.after[made_at] = {
            fmt::format("{}: setsockopt({}, SOL_SOCKET, SO_SNDBUF, 1) = 0", line.actor, fd)};
        edit.observe_from = made_at + 1;
        add("limits",
            fmt::format("SO_SNDBUF of {} at its minimum from line {}", fd,
                        script_.lines[made_at].at.line),
            script_.lines[made_at].at.line, edit);
      }
    }
  }

  const Script& script_;
  std::vector<std::string> file_lines_;
  std::map<int, std::size_t> index_at_;  // file line number -> index in Script::lines
  std::vector<FaultedCase> cases_;
};

}  // namespace

const std::vector<std::string>& fault_plan_names() {
  static const std::vector<std::string> names{"inject", "signal", "kill", "limits"};
  return names;
}

std::vector<FaultedCase> faulted_cases(const Script& script, const std::string& text,
                                       const std::vector<std::string>& plans) {
  return Planner(script, text).run(plans);
}

}  // namespace sockspec::script
