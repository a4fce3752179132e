#include "script/parser.h"

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "script/calls.h"
#include "script/constants.h"
#include "script/line_reader.h"
#include "script/options.h"

namespace sockspec::script {

// How many fds one sendmsg of the actor carries (kMaxRights in harness/c_actor/actor.c).
constexpr std::size_t kMaxRightsPerMessage = 16;

namespace {

// The resources `limit` knows, by name.
const std::map<std::string, int, std::less<>> kResources = {
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
};

std::string unknown_call(const std::string& name) {
  const std::string near = nearest_call(name);
  return fmt::format("unknown call '{}'{}; cases/LANGUAGE.md lists the calls", name,
                     near.empty() ? "" : fmt::format(" (did you mean {}?)", near));
}

std::string unknown_errno(const std::string& name) {
  const std::string near = nearest_errno(name);
  return fmt::format("unknown errno '{}'{}", name,
                     near.empty() ? "" : fmt::format("; did you mean {}?", near));
}

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

class Parser {
 public:
  Parser(std::string path, Script& script) : path_(std::move(path)), script_(script) {}

  // A header comment line (`comment` starts with '#'), at `number`. A `Source:` or `Linux:`
  // may go on over lines indented further ("#        and more"), which join it.
  void header_comment(int number, std::string_view comment, bool first) {
    std::string_view text = comment.substr(1);
    const bool indented = text.starts_with("  ");
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    std::string* const continued = continued_;
    continued_ = nullptr;
    if (continued && indented && !text.empty()) {
      *continued += " " + std::string(text);
      continued_ = continued;
      return;
    }
    auto value_of = [&](std::string_view key) -> std::optional<std::string> {
      if (!text.starts_with(key)) return std::nullopt;
      std::string_view v = text.substr(key.size());
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return std::string(v);
    };
    if (first) {
      script_.rule = text;
    } else if (auto source = value_of("Source:")) {
      script_.source = *source;
      continued_ = &script_.source;
    } else if (auto note = value_of("Linux:")) {
      script_.linux_note = *note;
      continued_ = &script_.linux_note;
    } else if (auto rows = value_of("Catalogue:")) {
      static const std::regex id("[A-Z]{2}-[0-9]{2}");
      for (const auto& row : comma_list(*rows)) {
        if (!std::regex_match(row, id))
          throw ScriptError(fmt::format(
              "{}:{}:1: error: '{}' is not a catalogue row; rows are written like AR-07 "
              "(cases/CATALOGUE.md)",
              path_, number, row));
        script_.catalogue.push_back(row);
      }
    } else if (auto others = value_of("See also:")) {
      for (const auto& other : comma_list(*others)) script_.see_also.push_back(other);
    } else if (auto fault = value_of("Fault:")) {
      script_.fault = *fault;
    } else if (auto required = value_of("REQUIRES:")) {
      for (const auto& feature : comma_list(*required))
        script_.requires_features.push_back(feature);
    }
  }

  void line(int number, std::string_view text) {
    // The comment starts at a '#' outside a string.
    bool in_string = false;
    std::size_t end = text.size();
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\\' && in_string)
        ++i;
      else if (text[i] == '"')
        in_string = !in_string;
      else if (text[i] == '#' && !in_string) {
        end = i;
        break;
      }
    }
    std::string_view code = text.substr(0, end);
    LineReader r(path_, number, code);
    if (r.at_end()) return;

    Line line;
    line.at = r.here();
    line.source = std::string(code);
    while (!line.source.empty() && line.source.back() == ' ') line.source.pop_back();
    line.actor = r.identifier("an actor name at the start of the line (\"server: ...\")");
    r.expect(":", "after the actor name");
    note_actor(line.actor);
    if (const auto dead = killed_at_.find(line.actor); dead != killed_at_.end())
      r.fail(line.at.column, fmt::format("actor {} was killed at line {}; it makes no more calls",
                                         line.actor, dead->second));

    if (r.accept("...")) {
      completion(r, line);
    } else if (r.accept("<-")) {
      signal_action(r, line);
    } else {
      const int column = r.column();
      const std::string first = r.identifier("a call, 'fork', 'thread', an action, or '...'");
      if (r.peek() != '(' && r.peek() != ',' && r.peek() != '=')
        word_line(r, line, first, column);
      else
        call_line(r, line, first, column);
    }
    if (!r.at_end()) r.fail("unexpected text after the line; a comment starts with '#'");
    const bool may_run_while_blocked =
        line.kind == LineKind::kCompletion ||
        (line.kind == LineKind::kAction && line.action.kind == Action::Kind::kSignal);
    if (pending_.contains(line.actor) && !may_run_while_blocked)
      r.fail(line.at.column,
             fmt::format("{} is still blocked in the call of line {}; complete it first with "
                         "'{}: ... = RESULT' (only a signal may reach it meanwhile: '{}: <- SIG')",
                         line.actor, script_.lines[pending_[line.actor]].at.line, line.actor,
                         line.actor));
    if (line.kind == LineKind::kCompletion) {
      line.blocked = pending_.contains(line.actor) ? pending_[line.actor] : observed_[line.actor];
      script_.lines[line.blocked].completion = script_.lines.size();
      pending_.erase(line.actor);
    }
    if (!may_run_while_blocked) observed_.erase(line.actor);
    if (line.expect.kind == Expectation::Kind::kBlocks) pending_[line.actor] = script_.lines.size();
    if (line.kind == LineKind::kCall && line.expect.kind == Expectation::Kind::kObserved &&
        find_call(line.call)->can_block)
      observed_[line.actor] = script_.lines.size();
    if (line.kind == LineKind::kAction && line.action.kind == Action::Kind::kSignal &&
        line.action.signal == SIGKILL && !pending_.contains(line.actor))
      killed_at_[line.actor] = number;
    if (line.kind == LineKind::kCompletion && line.expect.kind == Expectation::Kind::kKilled)
      killed_at_[line.actor] = number;
    script_.lines.push_back(std::move(line));
  }

  void finish() {
    // In a faulted run a call may stay blocked for good: its actor's process was killed, or
    // the fault took away what would have released it.
    if (!script_.fault.empty()) return;
    for (const auto& [actor, index] : pending_)
      throw ScriptError(fmt::format(
          "{}:{}:{}: error: the call {} is blocked in is never completed; add "
          "'{}: ... = RESULT' after the line that releases it",
          path_, script_.lines[index].at.line, script_.lines[index].at.column, actor, actor));
  }

 private:
  void note_actor(const std::string& actor) {
    if (actors_seen_.insert(actor).second) script_.actors.push_back(actor);
  }

  bool requires_feature(std::string_view feature) const {
    const auto& f = script_.requires_features;
    return std::find(f.begin(), f.end(), feature) != f.end();
  }

  // `ACTOR: ... = EXPECTED`: the call ACTOR is blocked in returns.
  void completion(LineReader& r, Line& line) {
    line.kind = LineKind::kCompletion;
    if (!pending_.contains(line.actor) && !observed_.contains(line.actor))
      r.fail(line.at.column,
             fmt::format("'{}: ...' completes a blocked call, but {} has no call that was "
                         "expected to block (\"= ...\")",
                         line.actor, line.actor));
    r.expect("=", "after '...': what the blocked call returns");
    const Line& blocked =
        script_.lines[pending_.contains(line.actor) ? pending_[line.actor] : observed_[line.actor]];
    line.expect = expectation(r, blocked, /*completing=*/true);
    for (const auto& name : blocked.results) variables_[line.actor].insert(name);
    for (const auto& name : line.expect.bind_rights) variables_[line.actor].insert(name);
  }

  // `ACTOR: <- SIGNAL`: the environment sends ACTOR a signal.
  void signal_action(LineReader& r, Line& line) {
    line.kind = LineKind::kAction;
    line.action.kind = Action::Kind::kSignal;
    const int column = r.column();
    const std::string name = r.identifier("a signal name after '<-' (\"<- SIGUSR1\")");
    const auto sig = signal_value(name);
    if (!sig) r.fail(column, fmt::format("unknown signal '{}'", name));
    line.action.signal = *sig;
  }

  // A line that starts with a word, not a call: fork, thread, and the environment's actions.
  void word_line(LineReader& r, Line& line, const std::string& word, int column) {
    if (word == "fork" || word == "thread") {
      line.kind = word == "fork" ? LineKind::kFork : LineKind::kThread;
      line.new_actor = r.identifier(fmt::format("the name of the new actor after '{}'", word));
      if (actors_seen_.contains(line.new_actor))
        r.fail(
            fmt::format("actor '{}' already exists; {} makes a new actor", line.new_actor, word));
      note_actor(line.new_actor);
      script_.forked_actors.push_back(line.new_actor);
      if (line.kind == LineKind::kThread) script_.thread_actors.push_back(line.new_actor);
      variables_[line.new_actor] = variables_[line.actor];
      return;
    }
    line.kind = LineKind::kAction;
    Action& a = line.action;
    if (word == "as") {
      a.kind = Action::Kind::kAs;
      if (!requires_feature("root"))
        r.fail(column,
               "'as' changes the actor's user, which needs root: add '# REQUIRES: root' "
               "to the header");
      if (r.accept("nobody")) {
        a.uid = a.gid = 65534;
        return;
      }
      r.expect("uid=", "after 'as' (\"as uid=65534 gid=65534\", or \"as nobody\")");
      a.uid = r.integer();
      r.expect("gid=", "after the uid");
      a.gid = r.integer();
    } else if (word == "limit") {
      a.kind = Action::Kind::kLimit;
      const int at = r.column();
      const std::string name = r.identifier("a resource such as RLIMIT_NOFILE");
      const auto resource = kResources.find(name);
      if (resource == kResources.end())
        r.fail(at, fmt::format("unknown resource '{}'; limit knows RLIMIT_NOFILE, RLIMIT_NPROC "
                               "and RLIMIT_FSIZE",
                               name));
      a.resource = resource->second;
      // "+N": room for N more fds. How many fds an actor holds at a line depends on its
      // target (an emulator may hold a few), so an absolute limit would not say the same
      // thing everywhere.
      const int number_at = r.column();
      a.room = r.accept("+");
      a.limit = r.integer();
      if (a.room && a.resource != RLIMIT_NOFILE)
        r.fail(number_at, "'+N' (room for N more) applies to RLIMIT_NOFILE only");
    } else if (word == "unshare") {
      a.kind = Action::Kind::kUnshareNet;
      r.expect("net", "after 'unshare' (a new network namespace: \"unshare net\")");
      if (!requires_feature("netns"))
        r.fail(column,
               "'unshare net' needs a new network namespace: add '# REQUIRES: netns' to "
               "the header");
    } else if (word == "landlock") {
      a.kind = Action::Kind::kLandlockScope;
      r.expect("scope", "after 'landlock' (\"landlock scope abstract\")");
      r.expect("abstract",
               "after 'landlock scope' (the scope Landlock restricts: \"landlock scope "
               "abstract\")");
      if (!requires_feature("landlock-scope"))
        r.fail(column,
               "'landlock scope' needs Landlock with scopes (Linux 6.12): add '# REQUIRES: "
               "landlock-scope' to the header");
    } else if (word == "inject") {
      a.kind = Action::Kind::kInject;
      if (!requires_feature("strace"))
        r.fail(column,
               "'inject' runs strace on the actor: add '# REQUIRES: strace' to the "
               "header");
      const int at = r.column();
      const std::string name = r.identifier("an errno name (\"inject ENOMEM into sendto\")");
      const auto err = errno_value(name);
      if (!err) r.fail(at, unknown_errno(name));
      a.error = *err;
      r.expect("into", "after the errno (\"inject ENOMEM into sendto\")");
      const int call_at = r.column();
      const std::string call = r.identifier("the call the fault goes into");
      const Call* c = find_call(call);
      if (!c) r.fail(call_at, unknown_call(call));
      // Into every system call the libc may make for it (strace's set: "accept,accept4").
      a.syscall = std::string(c->syscall);
      std::replace(a.syscall.begin(), a.syscall.end(), '|', ',');
      if (a.syscall == "read" || a.syscall == "write")
        r.fail(call_at, fmt::format("the actor talks to the interpreter with read() and write(), "
                                    "so a fault cannot go into {}",
                                    call));
    } else {
      r.fail(column, fmt::format("'{}' is neither a call (which needs '(') nor an action; the "
                                 "actions are <- SIGNAL, as, limit, unshare net, landlock "
                                 "scope abstract, inject, fork and thread",
                                 word));
    }
  }

  // `ACTOR: [VAR [, VAR] =] CALL(ARGS) [= EXPECTED]`
  void call_line(LineReader& r, Line& line, std::string first, int call_column) {
    std::vector<std::string> results;
    while (r.peek() == ',' || r.peek() == '=') {
      results.push_back(first);
      if (r.accept("=")) {
        call_column = r.column();
        first = r.identifier("a call after '='");
        break;
      }
      r.expect(",", "between variables");
      first = r.identifier("a variable name");
    }
    line.call = first;
    line.results = results;
    const Call* call = find_call(line.call);
    if (!call) r.fail(call_column, unknown_call(line.call));
    line.syscall = std::string(call->syscall);
    if (line.results.size() > static_cast<std::size_t>(call->binds))
      r.fail(line.at.column, call->binds == 0
                                 ? fmt::format("{} returns no fd to bind to a variable", line.call)
                                 : fmt::format("{} returns {} fd(s), not {}", line.call,
                                               call->binds, line.results.size()));
    r.expect("(", fmt::format("after '{}'", line.call));
    const std::string_view params = call->params;
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (r.peek() == ')') {
        if (i >= call->required) break;
        r.fail(fmt::format("{} takes {} arguments; this one has {}: {}", line.call, call->required,
                           i, call->signature));
      }
      if (i > 0) r.expect(",", "between arguments");
      const auto kind = static_cast<Param>(params[i]);
      line.arguments.push_back(argument(r, kind, line));
      // Control items (SCM_RIGHTS, SCM_CREDENTIALS) may come more than once, at the end.
      while (kind == Param::kControl && r.peek() == ',') {
        r.expect(",", "between arguments");
        line.arguments.push_back(argument(r, kind, line));
      }
    }
    if (!r.accept(")"))
      r.fail(fmt::format("expected ')': {} takes {} arguments: {}", line.call, params.size(),
                         call->signature));
    for (const auto& name : line.results) variables_[line.actor].insert(name);
    if (r.accept("=")) line.expect = expectation(r, line, /*completing=*/false);
    if (line.expect.kind == Expectation::Kind::kBlocks && !call->can_block)
      r.fail(line.expect.at.column,
             fmt::format("{} does not block; '= ...' cannot apply", line.call));
    for (const auto& name : line.expect.bind_rights) variables_[line.actor].insert(name);
  }

  // Bytes: "string", "string" * N for N copies of it, and pieces of either joined with +;
  // 16 MiB at most in all, so that no line can make the parser allocate without bound.
  static constexpr std::size_t kMostBytes = std::size_t{1} << 24;
  std::string bytes_literal(LineReader& r) {
    std::string bytes = repeated_string(r, 0);
    while (r.accept("+")) bytes += repeated_string(r, bytes.size());
    return bytes;
  }
  std::string repeated_string(LineReader& r, std::size_t before) {
    const int start = r.column();
    std::string bytes = r.string_literal();
    if (!r.accept("*")) return bytes;
    const int column = r.column();
    const long times = r.integer();
    if (times < 0 || times > (1 << 24)) r.fail(column, "repeat count must be 0..16777216");
    if (before + bytes.size() * static_cast<std::size_t>(times) > kMostBytes)
      r.fail(start, "bytes may be at most 16777216 in all");
    std::string repeated;
    repeated.reserve(bytes.size() * static_cast<std::size_t>(times));
    for (long i = 0; i < times; ++i) repeated += bytes;
    return repeated;
  }

  // A constant expression: NAME|NAME|123.
  long constant_expression(LineReader& r, std::string& written) {
    long value = 0;
    do {
      const int column = r.column();
      if (r.at_integer()) {
        const long v = r.integer();
        value |= v;
        written += (written.empty() ? "" : "|") + r.last_integer();
      } else if (r.at_identifier()) {
        const std::string name = r.identifier("a constant");
        const auto v = constant_value(name);
        if (!v) {
          const std::string near = nearest_constant(name);
          r.fail(column, fmt::format("unknown constant '{}'{}", name,
                                     near.empty() ? "" : fmt::format("; did you mean {}?", near)));
        }
        value |= *v;
        written += (written.empty() ? "" : "|") + name;
      } else {
        r.fail("expected a number or a constant such as MSG_DONTWAIT");
      }
    } while (r.accept("|"));
    return value;
  }

  // An address literal, if one comes next; `abstract_name` receives an abstract name's bytes.
  std::optional<UnixAddress> address_if_any(LineReader& r, std::string* abstract_name = nullptr,
                                            std::optional<socklen_t>* explicit_addrlen = nullptr) {
    std::optional<UnixAddress> address;
    const int column = r.column();
    if (r.accept("@")) {
      if (!r.at_string()) r.fail("expected a string after '@' (an abstract name: @\"name\")");
      const std::string name = r.string_literal();
      if (name.size() + 1 > UnixAddress::kMaxPath)
        r.fail(column, "abstract name longer than sun_path");
      address = UnixAddress::abstract(name);
      if (abstract_name) *abstract_name = name;
    } else if (r.at_string()) {
      const std::string path = r.string_literal();
      if (path.size() > UnixAddress::kMaxPath)
        r.fail(column, fmt::format("path of {} bytes does not fit in sun_path ({} bytes)",
                                   path.size(), UnixAddress::kMaxPath));
      address = UnixAddress::pathname(path);
    } else {
      return std::nullopt;
    }
    return with_addrlen(r, *address, explicit_addrlen);
  }

  UnixAddress with_addrlen(LineReader& r, UnixAddress address,
                           std::optional<socklen_t>* explicit_addrlen = nullptr) {
    if (!r.accept("/addrlen=")) return address;
    const int column = r.column();
    const long length = r.integer();
    if (length < 0 || length > static_cast<long>(sizeof(sockaddr_storage)))
      r.fail(column, fmt::format("addrlen {} is outside 0..{}", length, sizeof(sockaddr_storage)));
    if (explicit_addrlen) *explicit_addrlen = static_cast<socklen_t>(length);
    return address.with_length(static_cast<socklen_t>(length));
  }

  std::string defined_variable(LineReader& r, const Line& line, std::string_view what) {
    const int column = r.column();
    if (!r.at_identifier()) r.fail(fmt::format("expected {} as argument of {}", what, line.call));
    const std::string name = r.identifier(what);
    // A faulted run may leave out the line that bound it: the call is then not made.
    if (!variables_[line.actor].contains(name) && script_.fault.empty())
      r.fail(column,
             fmt::format(
                 "undefined variable '{}' in actor {}; bind it first (\"{}: {} = socket(...)\")",
                 name, line.actor, line.actor, name));
    return name;
  }

  // `{name=value ...}` for a struct option's fields; `pid=` may name an actor.
  std::vector<Field> struct_fields(LineReader& r, OptionKind kind, bool allow_actor) {
    const auto& names = option_fields(kind);
    std::vector<Field> fields;
    r.expect("{", "before the fields of the struct");
    while (!r.accept("}")) {
      if (r.at_end()) r.fail("expected '}' after the fields of the struct");
      const int column = r.column();
      Field f;
      f.name = r.identifier("a field name");
      if (std::find(names.begin(), names.end(), f.name) == names.end())
        r.fail(column, fmt::format("the struct has no field '{}'; its fields are {}", f.name,
                                   fmt::join(names, ", ")));
      r.expect("=", "after the field name");
      if (allow_actor && f.name == "pid" && r.at_identifier()) {
        f.actor = r.identifier("the actor whose pid it is");
        if (!actors_seen_.contains(f.actor))
          r.fail(column, fmt::format("pid={} names no actor", f.actor));
      } else {
        std::string written;
        f.value = constant_expression(r, written);
      }
      fields.push_back(std::move(f));
      r.accept(",");
    }
    return fields;
  }

  Argument argument(LineReader& r, Param kind, const Line& line) {
    Argument a;
    a.at = r.here();
    switch (kind) {
      case Param::kFd:
        a.kind = Argument::Kind::kVariable;
        a.variable = defined_variable(r, line, "an fd variable");
        return a;
      case Param::kInt:
        a.kind = Argument::Kind::kInteger;
        if (r.accept("pid(")) {  // an actor's pid: the owner F_SETOWN and FIOSETOWN are given
          const int column = r.column();
          a.pid_of = r.identifier("an actor's name (\"pid(reader)\")");
          if (!actors_seen_.contains(a.pid_of))
            r.fail(column, fmt::format("pid({}) names no actor", a.pid_of));
          r.expect(")", "after the actor's name");
          a.text = "pid(" + a.pid_of + ")";
          return a;
        }
        a.integer = constant_expression(r, a.text);
        return a;
      case Param::kBytes:
        a.kind = Argument::Kind::kBytes;
        if (!r.at_string())
          r.fail(fmt::format("expected bytes (a \"string\") as argument of {}", line.call));
        a.bytes = bytes_literal(r);
        return a;
      case Param::kPath:
        a.kind = Argument::Kind::kPath;
        if (!r.at_string())
          r.fail(fmt::format("expected a path (a \"string\") as argument of {}", line.call));
        a.bytes = r.string_literal();
        if (a.bytes.find('\0') != std::string::npos)
          r.fail(a.at.column, "a path cannot hold a NUL byte");
        return a;
      case Param::kAddress: {
        a.kind = Argument::Kind::kAddress;
        if (r.at_identifier()) {
          const int column = r.column();
          const std::string word = r.identifier("an address");
          if (word != "unnamed" && word != "AF_UNSPEC")
            r.fail(column, fmt::format("expected an address (\"path\", @\"abstract\", unnamed or "
                                       "AF_UNSPEC), not '{}'",
                                       word));
          // AF_UNSPEC: a bare sa_family of AF_UNSPEC, which dissolves a datagram association.
          const UnixAddress bare = word == "unnamed"
                                       ? UnixAddress::unnamed()
                                       : UnixAddress::unnamed().with_family(AF_UNSPEC);
          a.address = with_addrlen(r, bare, &a.explicit_addrlen);
          return a;
        }
        a.address = address_if_any(r, &a.abstract_name, &a.explicit_addrlen);
        a.abstract = a.address && a.address->is_abstract();
        if (!a.address) r.fail("expected an address: \"path\", @\"abstract\" or unnamed");
        return a;
      }
      case Param::kControl:
        if (r.accept("SCM_RIGHTS")) {
          a.kind = Argument::Kind::kRights;
          r.expect("(", "after SCM_RIGHTS");
          do a.rights.push_back(defined_variable(r, line, "an fd variable to send"));
          while (r.accept(","));
          r.expect(")", "after the fds of SCM_RIGHTS");
          // The actor sends one SCM_RIGHTS message with room for kMaxRightsPerMessage fds.
          std::size_t rights = a.rights.size();
          for (const Argument& earlier : line.arguments) rights += earlier.rights.size();
          if (rights > kMaxRightsPerMessage)
            r.fail(a.at.column, fmt::format("at most {} fds in one sendmsg (the actor's room for "
                                            "them; the kernel's SCM_MAX_FD is 253)",
                                            kMaxRightsPerMessage));
          return a;
        }
        if (r.accept("SCM_CREDENTIALS")) {
          a.kind = Argument::Kind::kCredentials;
          return a;
        }
        r.fail("expected SCM_RIGHTS(fd, ...) or SCM_CREDENTIALS");
      case Param::kOptionValue: {
        a.kind = Argument::Kind::kOptionValue;
        const OptionKind option =
            option_kind(line.arguments.at(1).integer, line.arguments.at(2).integer);
        if (r.at_string()) {  // raw bytes: any length, for the optlen rules
          a.bytes = bytes_literal(r);
          a.text = fmt::format("\"{}\"", a.bytes);
        } else if (r.peek() == '{') {
          if (option == OptionKind::kInt)
            r.fail(fmt::format("{} takes a number, not a struct", line.arguments.at(2).text));
          std::vector<long> values(option_fields(option).size());
          const auto fields = struct_fields(r, option, /*allow_actor=*/false);
          for (const auto& f : fields) {
            const auto& names = option_fields(option);
            values[static_cast<std::size_t>(std::find(names.begin(), names.end(), f.name) -
                                            names.begin())] = f.value;
          }
          a.bytes = encode_option(option, values);
          a.text = describe_option(option, a.bytes);
        } else {
          if (option != OptionKind::kInt)
            r.fail(fmt::format("{} takes {{{} ...}}: a struct", line.arguments.at(2).text,
                               fmt::join(option_fields(option), "=N ")));
          a.integer = constant_expression(r, a.text);
          a.bytes = encode_option(option, {a.integer});
        }
        return a;
      }
      case Param::kLengths:
        a.kind = Argument::Kind::kIntegers;
        r.expect("[", fmt::format("before the lengths of {} (\"[3, 5]\")", line.call));
        do a.integers.push_back(r.integer());
        while (r.accept(","));
        r.expect("]", "after the lengths");
        return a;
      case Param::kBytesList:
        a.kind = Argument::Kind::kByteStrings;
        r.expect("[", fmt::format("before the buffers of {} ([\"ab\", \"cd\"])", line.call));
        do {
          if (!r.at_string()) r.fail("expected bytes (a \"string\")");
          a.byte_strings.push_back(bytes_literal(r));
        } while (r.accept(","));
        r.expect("]", "after the buffers");
        return a;
      case Param::kHandler: {
        a.kind = Argument::Kind::kHandler;
        const int column = r.column();
        a.text = r.identifier("SIG_DFL, SIG_IGN or catch");
        if (a.text == "SIG_DFL")
          a.integer = 0;
        else if (a.text == "SIG_IGN")
          a.integer = 1;
        else if (a.text == "catch")
          a.integer = 2;
        else
          r.fail(column, fmt::format("expected SIG_DFL, SIG_IGN or catch, not '{}'", a.text));
        return a;
      }
    }
    r.fail("internal: unknown parameter kind");
  }

  Expectation expectation(LineReader& r, const Line& line, bool completing) {
    const Call& call = *find_call(line.call);
    Expectation e;
    e.at = r.here();
    const bool receives = (call.attributes & kReceivesBytes) != 0;
    if (r.accept("?")) {
      if (script_.fault.empty())
        r.fail(e.at.column,
               "'?' (any result) belongs to a faulted run; a case says what Linux returns");
      e.kind = Expectation::Kind::kObserved;
      e.text = "?";
      return attributes(r, e, line);
    }
    if (r.accept("...")) {
      if (completing) r.fail(e.at.column, "a completed call cannot block again");
      e.kind = Expectation::Kind::kBlocks;
      e.text = "...";
      return e;
    }
    for (std::string_view attribute :
         {"from=", "flags=", "revents=", "events=", "SCM_RIGHTS", "SCM_CREDENTIALS"})
      if (r.looking_at(attribute)) {
        e.kind = Expectation::Kind::kSucceeds;
        return attributes(r, e, line);
      }
    if (r.accept("killed")) {
      r.expect("by", "after 'killed' (\"killed by SIGPIPE\")");
      const int column = r.column();
      const std::string name = r.identifier("a signal name such as SIGPIPE");
      const auto sig = signal_value(name);
      if (!sig) r.fail(column, fmt::format("unknown signal '{}'", name));
      e.kind = Expectation::Kind::kKilled;
      e.signal = *sig;
      e.text = "killed by " + name;
      return e;
    }
    if (r.accept("eof")) {
      if (!receives)
        r.fail(e.at.column, fmt::format("'eof' applies to a receive, not to {}", line.call));
      e.kind = Expectation::Kind::kBytes;
      e.value_given = true;
      e.text = "eof";
      return attributes(r, e, line);
    }
    if (call.attributes & kSignalSet) {
      e.kind = Expectation::Kind::kValue;
      e.signal_set = 0;
      if (r.accept("none")) {
        e.text = "none";
        return e;
      }
      do {
        const int column = r.column();
        const std::string name = r.identifier("a signal name, or none");
        const auto sig = signal_value(name);
        if (!sig) r.fail(column, fmt::format("unknown signal '{}'", name));
        *e.signal_set |= 1L << (*sig - 1);
        e.text += (e.text.empty() ? "" : "|") + name;
      } while (r.accept("|"));
      return e;
    }
    if (r.peek() == '{') {
      if (!(call.attributes & kOptionResult))
        r.fail(e.at.column,
               fmt::format("a struct ({{...}}) is getsockopt's value, not {}'s", line.call));
      const OptionKind option =
          option_kind(line.arguments.at(1).integer, line.arguments.at(2).integer);
      if (option == OptionKind::kInt)
        r.fail(e.at.column, fmt::format("{} is a number, not a struct", line.arguments.at(2).text));
      e.kind = Expectation::Kind::kStruct;
      e.fields = struct_fields(r, option, /*allow_actor=*/true);
      for (const auto& f : e.fields)
        e.text += fmt::format("{}{}={}", e.text.empty() ? "" : " ", f.name,
                              f.actor.empty() ? std::to_string(f.value) : f.actor);
      e.text = "{" + e.text + "}";
      return e;
    }
    if (r.at_string()) {
      if (!receives)
        r.fail(e.at.column,
               fmt::format("received bytes (\"...\") apply to a receive, not to {}", line.call));
      e.kind = Expectation::Kind::kBytes;
      e.bytes = bytes_literal(r);
      e.text = "\"" + e.bytes + "\"";
      return attributes(r, e, line);
    }
    if (r.at_integer() || r.at_identifier()) {
      std::string written;
      const long value = constant_expression(r, written);
      if (value == -1 && r.at_identifier()) {
        e.kind = Expectation::Kind::kErrno;
        do {
          const int column = r.column();
          const std::string name = r.identifier("an errno name such as EAGAIN");
          const auto err = errno_value(name);
          if (!err) r.fail(column, unknown_errno(name));
          e.errnos.push_back(*err);
        } while (r.accept("|"));
        e.value = -1;
        return e;
      }
      e.kind = Expectation::Kind::kValue;
      e.value = value;
      e.text = written;
      if (receives && r.at_string()) {
        e.kind = Expectation::Kind::kBytes;
        e.value_given = true;
        e.bytes = bytes_literal(r);
      } else if ((call.attributes & kMessages) && r.peek() == '[') {
        r.expect("[", "before the messages");
        std::vector<std::string> messages;
        if (!r.accept("]")) {
          do {
            if (!r.at_string()) r.fail("expected a message (a \"string\")");
            messages.push_back(bytes_literal(r));
          } while (r.accept(","));
          r.expect("]", "after the messages");
        }
        e.messages = std::move(messages);
      } else if (call.attributes & kAddressValue) {
        std::optional<socklen_t> length;
        if (r.accept("unnamed")) {
          e.address = with_addrlen(r, UnixAddress::unnamed(), &length);
        } else if (auto a = address_if_any(r, nullptr, &length)) {
          e.address = a;
        }
        e.address_length_written = length.has_value();
      }
      return attributes(r, e, line);
    }
    r.fail(
        "expected a result: a number, -1 ERRNO, \"bytes\", eof, {struct}, ..., or killed by "
        "SIGNAL");
  }

  Expectation& attributes(LineReader& r, Expectation& e, const Line& line) {
    const unsigned applies = find_call(line.call)->attributes;
    auto check = [&](int column, unsigned attribute, std::string_view name) {
      if (!(applies & attribute))
        r.fail(column, fmt::format("{} does not apply to {}", name, line.call));
    };
    while (!r.at_end()) {
      const int column = r.column();
      if (r.accept("flags=")) {
        check(column, kMsgFlags, "flags= (msg_flags)");
        std::string written;
        e.msg_flags = static_cast<int>(constant_expression(r, written));
      } else if (r.accept("from=")) {
        check(column, kFrom, "from=");
        std::optional<socklen_t> length;
        if (r.accept("unnamed"))
          e.address = with_addrlen(r, UnixAddress::unnamed(), &length);
        else if (r.accept("none"))
          e.address = UnixAddress::none(), length = 0;
        else if (auto a = address_if_any(r, nullptr, &length))
          e.address = a;
        else
          r.fail("expected an address after from=");
        e.address_length_written = length.has_value();
      } else if (r.accept("revents=")) {
        check(column, kRevents, "revents=");
        std::string written;
        e.revents = static_cast<int>(constant_expression(r, written));
      } else if (r.accept("events=")) {
        check(column, kEvents, "events=");
        r.expect("[", "after events= ([fd:EPOLLIN, ...])");
        std::vector<std::pair<std::string, int>> events;
        if (!r.accept("]")) {
          do {
            const std::string fd = defined_variable(r, line, "the fd of an event");
            r.expect(":", "between the fd and its events");
            std::string written;
            events.emplace_back(fd, static_cast<int>(constant_expression(r, written)));
          } while (r.accept(","));
          r.expect("]", "after the events");
        }
        e.events = std::move(events);
      } else if (r.accept("SCM_RIGHTS")) {
        check(column, kReceivesFds, "SCM_RIGHTS(...)");
        r.expect("(", "after SCM_RIGHTS");
        do e.bind_rights.push_back(r.identifier("a name for a received fd"));
        while (r.accept(","));
        r.expect(")", "after the names of SCM_RIGHTS");
      } else if (r.accept("SCM_CREDENTIALS")) {
        check(column, kReceivesCreds, "SCM_CREDENTIALS(...)");
        e.expect_credentials = true;
        r.expect("(", "after SCM_CREDENTIALS");
        do {
          const int key_column = r.column();
          const std::string key = r.identifier("pid=, uid= or gid=");
          r.expect("=", "after " + key);
          if (key == "pid") {
            e.credentials_pid_actor = r.identifier("the actor whose pid it is");
            if (!actors_seen_.contains(e.credentials_pid_actor))
              r.fail(key_column, fmt::format("pid={} names no actor", e.credentials_pid_actor));
          } else if (key == "uid") {
            e.credentials_uid = r.integer();
          } else if (key == "gid") {
            e.credentials_gid = r.integer();
          } else {
            r.fail(key_column,
                   fmt::format("SCM_CREDENTIALS takes pid=, uid= and gid=, not {}=", key));
          }
        } while (r.accept(","));
        r.expect(")", "after the fields of SCM_CREDENTIALS");
      } else {
        break;
      }
    }
    return e;
  }

  std::string path_;
  Script& script_;
  std::set<std::string> actors_seen_;
  std::map<std::string, std::set<std::string>> variables_;  // per actor
  std::map<std::string, std::size_t> pending_;              // actor -> index of its blocked line
  // actor -> index of its last line, when that is an observed call ("= ?") that may block:
  // its "ACTOR: ... = ?" may follow
  std::map<std::string, std::size_t> observed_;
  std::map<std::string, int> killed_at_;  // actor -> the line that killed it
  std::string* continued_ = nullptr;      // the header field an indented line would go on with
};

}  // namespace

Script parse_script(const std::string& path, const std::string& text) {
  Script script;
  script.path = path;
  Parser parser(path, script);
  std::stringstream lines(text);
  int number = 0;
  bool in_header = true;
  bool first = true;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    std::string_view trimmed = line;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t'))
      trimmed.remove_prefix(1);
    if (trimmed.starts_with("#")) {
      if (in_header) parser.header_comment(number, trimmed, first);
      first = false;
      continue;
    }
    if (first && !trimmed.empty())
      throw ScriptError(fmt::format(
          "{}:{}:1: error: a case starts with its rule as a comment (\"# ...\")", path, number));
    if (trimmed.empty()) {
      in_header = false;
      continue;
    }
    in_header = false;
    parser.line(number, line);
  }
  if (script.rule.empty())
    throw ScriptError(
        fmt::format("{}:1:1: error: a case starts with its rule as a comment (\"# ...\")", path));
  if (script.lines.empty())
    throw ScriptError(fmt::format("{}:1:1: error: the case has no lines to run", path));
  parser.finish();
  return script;
}

Script parse_script_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ScriptError(fmt::format("{}: error: cannot read the file", path));
  std::stringstream text;
  text << in.rdbuf();
  return parse_script(path, text.str());
}

}  // namespace sockspec::script
