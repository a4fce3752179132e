#include "script/parser.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "script/constants.h"
#include "script/line_reader.h"

namespace sockspec::script {

namespace {

// What each call takes: v = fd variable, i = integer or constants, b = bytes,
// a = address; `results` is how many fds it can bind; `blocks` whether `= ...` applies.
struct Signature {
  std::string_view params;
  int results = 0;
  bool can_block = false;
  std::string_view syscall;              // the x86-64 syscall libc makes, for "blocked in ..."
  std::size_t required = params.size();  // the parameters after these are optional
};

const std::map<std::string, Signature, std::less<>>& signatures() {
  static const std::map<std::string, Signature, std::less<>> table{
      {"socket", {"iii", 1, false, "socket"}},
      {"socketpair", {"iii", 2, false, "socketpair"}},
      {"bind", {"va", 0, false, "bind"}},
      {"listen", {"vi", 0, false, "listen"}},
      {"accept", {"v", 1, true, "accept"}},
      {"accept4", {"vi", 1, true, "accept4"}},
      {"connect", {"va", 0, true, "connect"}},
      {"send", {"vbi", 0, true, "sendto"}},
      {"sendto", {"vbia", 0, true, "sendto"}},
      {"sendmsg", {"vbirr", 0, true, "sendmsg", 3}},  // [, SCM_RIGHTS(...)] [, SCM_CREDENTIALS]
      {"recv", {"vii", 0, true, "recvfrom"}},
      {"recvfrom", {"vii", 0, true, "recvfrom"}},
      {"recvmsg", {"viii", 0, true, "recvmsg", 3}},  // [, control buffer bytes]
      {"read", {"vi", 0, true, "read"}},
      {"write", {"vb", 0, true, "write"}},
      {"shutdown", {"vi", 0, false, "shutdown"}},
      {"close", {"v", 0, false, "close"}},
      {"getsockname", {"v", 0, false, "getsockname"}},
      {"getpeername", {"v", 0, false, "getpeername"}},
      {"getsockopt", {"vii", 0, false, "getsockopt"}},
      {"setsockopt", {"viii", 0, false, "setsockopt"}},
      {"fcntl", {"vii", 0, false, "fcntl", 2}},  // [, arg]
      {"ioctl", {"vi", 0, false, "ioctl"}},
      {"poll", {"vii", 0, true, "poll"}},
      {"signal", {"ii", 0, false, "rt_sigaction"}},
      {"sigprocmask", {"ii", 0, false, "rt_sigprocmask"}},
      {"sigpending", {"", 0, false, "rt_sigpending"}},
  };
  return table;
}

std::string call_names() {
  std::string names;
  for (const auto& [name, sig] : signatures()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

class Parser {
 public:
  Parser(std::string path, Script& script) : path_(std::move(path)), script_(script) {}

  void header_comment(std::string_view comment, bool first) {
    std::string_view text = comment.substr(1);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
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
    } else if (auto note = value_of("Linux:")) {
      script_.linux_note = *note;
    } else if (auto required = value_of("REQUIRES:")) {
      std::stringstream features(*required);
      for (std::string f; std::getline(features, f, ',');) {
        f.erase(0, f.find_first_not_of(' '));
        f.erase(f.find_last_not_of(' ') + 1);
        if (!f.empty()) script_.requires_features.push_back(f);
      }
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
    std::size_t blocked_index = 0;
    line.at = r.here();
    line.source = std::string(code);
    while (!line.source.empty() && line.source.back() == ' ') line.source.pop_back();
    line.actor = r.identifier("an actor name at the start of the line (\"server: ...\")");
    r.expect(":", "after the actor name");
    note_actor(line.actor);

    if (r.accept("...")) {
      line.call = "...";
      if (!pending_.contains(line.actor))
        r.fail(line.at.column,
               fmt::format("'{}: ...' completes a blocked call, but {} has no call that was "
                           "expected to block (\"= ...\")",
                           line.actor, line.actor));
      r.expect("=", "after '...': what the blocked call returns");
      blocked_index = pending_[line.actor];
      const Line& blocked = script_.lines[blocked_index];
      line.expect = expectation(r, blocked.call, line.actor, /*completing=*/true);
      if (!r.at_end()) r.fail("unexpected text after the line; a comment starts with '#'");
      bind_results_of_completion(blocked, line);
      pending_.erase(line.actor);
    } else {
      int call_column = r.column();
      std::string first = r.identifier("a call, 'fork', or '...'");
      if (first == "fork") {
        line.call = "fork";
        line.fork_child = r.identifier("the name of the child actor after 'fork'");
        if (actors_seen_.contains(line.fork_child))
          r.fail(fmt::format("actor '{}' already exists; fork makes a new actor", line.fork_child));
        note_actor(line.fork_child);
        script_.forked_actors.push_back(line.fork_child);
        variables_[line.fork_child] = variables_[line.actor];
      } else {
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
        call_rest(r, line, call_column);
      }
      if (!r.at_end()) r.fail("unexpected text after the line; a comment starts with '#'");
    }
    if (pending_.contains(line.actor) && line.call != "...")
      r.fail(line.at.column,
             fmt::format("{} is still blocked in the call of line {}; complete it first with "
                         "'{}: ... = RESULT'",
                         line.actor, script_.lines[pending_[line.actor]].at.line, line.actor));
    if (const auto sig = signatures().find(line.call); sig != signatures().end())
      line.syscall = sig->second.syscall;
    if (line.call == "...") {
      line.blocked = blocked_index;
      script_.lines[blocked_index].completion = script_.lines.size();
    }
    if (line.expect.kind == Expectation::Kind::kBlocks) pending_[line.actor] = script_.lines.size();
    script_.lines.push_back(std::move(line));
  }

  void finish() {
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

  void call_rest(LineReader& r, Line& line, int call_column) {
    const auto sig = signatures().find(line.call);
    if (sig == signatures().end())
      r.fail(call_column,
             fmt::format("unknown call '{}'; the calls are {}", line.call, call_names()));
    if (line.results.size() > static_cast<std::size_t>(sig->second.results))
      r.fail(line.at.column, sig->second.results == 0
                                 ? fmt::format("{} returns no fd to bind to a variable", line.call)
                                 : fmt::format("{} returns {} fd(s), not {}", line.call,
                                               sig->second.results, line.results.size()));
    r.expect("(", fmt::format("after '{}'", line.call));
    const std::string_view params = sig->second.params;
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (r.peek() == ')') {
        if (i >= sig->second.required) break;
        r.fail(fmt::format("{} takes {} arguments; this one has {}", line.call,
                           sig->second.required, i));
      }
      if (i > 0) r.expect(",", "between arguments");
      line.arguments.push_back(argument(r, params[i], line));
    }
    if (!r.accept(")"))
      r.fail(fmt::format("expected ')': {} takes {} arguments", line.call, params.size()));
    for (const auto& name : line.results) variables_[line.actor].insert(name);
    if (r.accept("=")) line.expect = expectation(r, line.call, line.actor, false);
    if (line.expect.kind == Expectation::Kind::kBlocks && !sig->second.can_block)
      r.fail(line.expect.at.column,
             fmt::format("{} does not block; '= ...' cannot apply", line.call));
    for (const auto& name : line.expect.bind_rights) variables_[line.actor].insert(name);
  }

  void bind_results_of_completion(const Line& blocked, const Line& completion) {
    for (const auto& name : blocked.results) variables_[completion.actor].insert(name);
    for (const auto& name : completion.expect.bind_rights)
      variables_[completion.actor].insert(name);
  }

  // Bytes: "string", or "string" * N for N copies of it.
  std::string bytes_literal(LineReader& r) {
    std::string bytes = r.string_literal();
    if (!r.accept("*")) return bytes;
    const int column = r.column();
    const long times = r.integer();
    if (times < 0 || times > (1 << 24)) r.fail(column, "repeat count must be 0..16777216");
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
        written += (written.empty() ? "" : "|") + std::to_string(v);
      } else if (r.at_identifier()) {
        const std::string name = r.identifier("a constant");
        long v = 0;
        if (name == "SIG_IGN")
          v = 1;
        else if (name == "SIG_DFL")
          v = 0;
        else if (auto c = constant_value(name))
          v = *c;
        else {
          const std::string near = nearest_constant(name);
          r.fail(column, fmt::format("unknown constant '{}'{}", name,
                                     near.empty() ? "" : fmt::format("; did you mean {}?", near)));
        }
        value |= v;
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

  Argument argument(LineReader& r, char kind, const Line& line) {
    Argument a;
    a.at = r.here();
    switch (kind) {
      case 'v': {
        a.kind = Argument::Kind::kVariable;
        if (!r.at_identifier())
          r.fail(fmt::format("expected an fd variable as argument of {}", line.call));
        a.variable = r.identifier("an fd variable");
        if (!variables_[line.actor].contains(a.variable))
          r.fail(
              a.at.column,
              fmt::format(
                  "undefined variable '{}' in actor {}; bind it first (\"{}: {} = socket(...)\")",
                  a.variable, line.actor, line.actor, a.variable));
        return a;
      }
      case 'i':
        a.kind = Argument::Kind::kInteger;
        a.integer = constant_expression(r, a.text);
        return a;
      case 'b': {
        a.kind = Argument::Kind::kBytes;
        if (!r.at_string())
          r.fail(fmt::format("expected bytes (a \"string\") as argument of {}", line.call));
        a.bytes = bytes_literal(r);
        return a;
      }
      case 'a': {
        a.kind = Argument::Kind::kAddress;
        if (r.at_identifier()) {
          const int column = r.column();
          const std::string word = r.identifier("an address");
          if (word != "unnamed")
            r.fail(column,
                   fmt::format("expected an address (\"path\", @\"abstract\" or unnamed), not '{}'",
                               word));
          a.address = with_addrlen(r, UnixAddress::unnamed(), &a.explicit_addrlen);
          return a;
        }
        a.address = address_if_any(r, &a.abstract_name, &a.explicit_addrlen);
        a.abstract = a.address && a.address->is_abstract();
        if (!a.address) r.fail("expected an address: \"path\", @\"abstract\" or unnamed");
        return a;
      }
      case 'r': {
        if (r.accept("SCM_RIGHTS")) {
          a.kind = Argument::Kind::kRights;
          r.expect("(", "after SCM_RIGHTS");
          do {
            const int column = r.column();
            const std::string v = r.identifier("an fd variable to send");
            if (!variables_[line.actor].contains(v))
              r.fail(column, fmt::format("undefined variable '{}' in actor {}", v, line.actor));
            a.rights.push_back(v);
          } while (r.accept(","));
          r.expect(")", "after the fds of SCM_RIGHTS");
          return a;
        }
        if (r.accept("SCM_CREDENTIALS")) {
          a.kind = Argument::Kind::kCredentials;
          return a;
        }
        r.fail("expected SCM_RIGHTS(fd, ...) or SCM_CREDENTIALS");
      }
    }
    r.fail("internal: unknown parameter kind");
  }

  Expectation expectation(LineReader& r, const std::string& call, const std::string& actor,
                          bool completing) {
    Expectation e;
    e.at = r.here();
    const bool receives =
        call == "recv" || call == "recvfrom" || call == "recvmsg" || call == "read";
    if (r.accept("...")) {
      if (completing) r.fail(e.at.column, "a completed call cannot block again");
      e.kind = Expectation::Kind::kBlocks;
      e.text = "...";
      return e;
    }
    for (std::string_view attribute :
         {"from=", "flags=", "revents=", "SCM_RIGHTS", "SCM_CREDENTIALS"})
      if (r.looking_at(attribute)) {
        e.kind = Expectation::Kind::kSucceeds;
        return attributes(r, e, call, actor);
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
        r.fail(e.at.column, fmt::format("'eof' applies to a receive, not to {}", call));
      e.kind = Expectation::Kind::kBytes;
      e.value_given = true;
      e.text = "eof";
      return attributes(r, e, call, actor);
    }
    if (call == "sigpending") {
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
    if (r.at_string()) {
      if (!receives)
        r.fail(e.at.column,
               fmt::format("received bytes (\"...\") apply to a receive, not to {}", call));
      e.kind = Expectation::Kind::kBytes;
      e.bytes = bytes_literal(r);
      e.text = "\"" + e.bytes + "\"";
      return attributes(r, e, call, actor);
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
          if (!err) r.fail(column, fmt::format("unknown errno '{}'", name));
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
      } else if (call == "getsockname" || call == "getpeername") {
        std::optional<socklen_t> length;
        if (r.accept("unnamed")) {
          e.address = with_addrlen(r, UnixAddress::unnamed(), &length);
        } else if (auto a = address_if_any(r, nullptr, &length)) {
          e.address = a;
        }
        e.address_length_written = length.has_value();
      }
      return attributes(r, e, call, actor);
    }
    r.fail("expected a result: a number, -1 ERRNO, \"bytes\", eof, ..., or killed by SIGNAL");
  }

  Expectation& attributes(LineReader& r, Expectation& e, const std::string& call,
                          const std::string& actor) {
    const bool from_applies =
        call == "recvfrom" || call == "recvmsg" || call == "accept" || call == "accept4";
    while (!r.at_end()) {
      const int column = r.column();
      if (r.accept("flags=")) {
        if (call != "recvmsg")
          r.fail(column, fmt::format("flags= (msg_flags) applies to recvmsg, not to {}", call));
        std::string written;
        e.msg_flags = static_cast<int>(constant_expression(r, written));
      } else if (r.accept("from=")) {
        if (!from_applies)
          r.fail(column,
                 fmt::format("from= applies to recvfrom, recvmsg and accept, not to {}", call));
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
        if (call != "poll")
          r.fail(column, fmt::format("revents= applies to poll, not to {}", call));
        std::string written;
        e.revents = static_cast<int>(constant_expression(r, written));
      } else if (r.accept("SCM_RIGHTS")) {
        if (call != "recvmsg")
          r.fail(column, fmt::format("SCM_RIGHTS(...) applies to recvmsg, not to {}", call));
        r.expect("(", "after SCM_RIGHTS");
        do e.bind_rights.push_back(r.identifier("a name for a received fd"));
        while (r.accept(","));
        r.expect(")", "after the names of SCM_RIGHTS");
      } else if (r.accept("SCM_CREDENTIALS")) {
        if (call != "recvmsg")
          r.fail(column, fmt::format("SCM_CREDENTIALS(...) applies to recvmsg, not to {}", call));
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
    (void)actor;
    return e;
  }

  std::string path_;
  Script& script_;
  std::set<std::string> actors_seen_;
  std::map<std::string, std::set<std::string>> variables_;  // per actor
  std::map<std::string, std::size_t> pending_;              // actor -> index of its blocked line
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
      if (in_header) parser.header_comment(trimmed, first);
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
