#include "runner/googletest_faults.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "os/files.h"
#include "os/names.h"
#include "protocol/case_protocol.h"
#include "script/documented_errors.h"

namespace sockspec {

namespace {

// The system calls only sockets make: faulting them reaches the case's calls and never the
// harness's own (its channels are pipes, read and written).
const std::vector<std::string> kSocketCalls = {
    "socket",  "socketpair", "bind",        "listen",      "accept",     "accept4",
    "connect", "shutdown",   "getsockname", "getpeername", "getsockopt", "setsockopt",
    "sendto",  "recvfrom",   "sendmsg",     "recvmsg",     "sendmmsg",   "recvmmsg"};

// Those of them that can block, and so be interrupted by a signal: the socket calls
// signal(7) lists as restarted under SA_RESTART unless the socket has a timeout.
const std::set<std::string> kBlockingCalls = {"accept",   "accept4", "connect",
                                              "recvfrom", "recvmsg", "recvmmsg",
                                              "sendto",   "sendmsg", "sendmmsg"};

std::string ordinal(int n) {
  const char* suffix = (n % 100 >= 11 && n % 100 <= 13) ? "th"
                       : n % 10 == 1                    ? "st"
                       : n % 10 == 2                    ? "nd"
                       : n % 10 == 3                    ? "rd"
                                                        : "th";
  return fmt::format("{}{}", n, suffix);
}

// Words that name an errno in a failure: its name, or the text strerror() gives it.
std::vector<std::string> naming(int err) {
  return {errno_name(err), std::strerror(err)};
}

class FaultList {
 public:
  FaultList(const CaseInfo& c, const std::filesystem::path& suite) : case_(c), suite_(suite) {}

  // A fault strace makes: `inject` is its -e inject expression; `variables`, what the case
  // process does to itself besides.
  GoogleTestFault& add(const std::string& plan, std::string fault, std::string inject,
                       std::vector<std::string> variables = {}) {
    GoogleTestFault& f = faults_.emplace_back();
    f.plan = plan;
    f.fault = std::move(fault);
    f.run = case_;
    f.run.test_name = case_.name;
    f.run.name = fmt::format("faults/{}/{}-{:03}", case_.name, plan, ++numbered_[plan]);
    f.run.strace_inject = std::move(inject);
    f.run.fault_variables = std::move(variables);
    f.run.rule = f.fault + " — " + case_.rule;
    std::string command;
    for (const auto& v : f.run.fault_variables) command += v + " ";
    if (!f.run.strace_inject.empty())
      command += fmt::format("strace -f -qq -o /dev/null -e {} ", f.run.strace_inject);
    f.reproduce = fmt::format("{}{} --gtest_filter='{}'", command, suite_.string(), case_.name);
    return f;
  }

  std::vector<GoogleTestFault> take() { return std::move(faults_); }

 private:
  const CaseInfo& case_;
  const std::filesystem::path& suite_;
  std::map<std::string, int> numbered_;
  std::vector<GoogleTestFault> faults_;
};

bool names_any(const std::string& message, const std::vector<std::string>& words) {
  return std::any_of(words.begin(), words.end(),
                     [&](const std::string& w) { return message.find(w) != std::string::npos; });
}

// The processes of a traced run that died of SIGKILL which no process of the case sent:
// strace -f writes "PID TIME +++ killed by SIGKILL +++" and "PID TIME kill(PID, 9 /* SIGKILL
// */)".
std::vector<std::string> killed_from_outside(const std::string& trace) {
  static const std::regex killed(R"((?:^|\n)(\d+)\s+[\d:.]+\s+\+\+\+ killed by SIGKILL)");
  static const std::regex sent(R"(kill\((\d+), (?:9 /\* )?SIGKILL)");
  std::set<std::string> by_the_case;
  for (auto m = std::sregex_iterator(trace.begin(), trace.end(), sent); m != std::sregex_iterator();
       ++m)
    by_the_case.insert((*m)[1]);
  std::vector<std::string> outside;
  for (auto m = std::sregex_iterator(trace.begin(), trace.end(), killed);
       m != std::sregex_iterator(); ++m)
    if (!by_the_case.contains((*m)[1])) outside.push_back((*m)[1]);
  return outside;
}

}  // namespace

std::map<std::string, int> count_socket_calls(const std::filesystem::path& trace) {
  // "1234  10:00:00.000001 sendto(3<socket:[5]>, ..." and "<... sendto resumed>" lines: a
  // call is counted where it starts.
  static const std::regex started(R"(^(\d+)\s+[\d:.]+\s+([a-z0-9_]+)\()");
  std::map<std::pair<std::string, std::string>, int> per_process;
  std::ifstream in(trace);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, started)) continue;
    const std::string call = m[2];
    if (std::find(kSocketCalls.begin(), kSocketCalls.end(), call) != kSocketCalls.end())
      ++per_process[{m[1], call}];
  }
  std::map<std::string, int> most;
  for (const auto& [key, n] : per_process) most[key.second] = std::max(most[key.second], n);
  return most;
}

std::vector<GoogleTestFault> googletest_faults(const CaseInfo& c,
                                               const std::map<std::string, int>& counts,
                                               const std::filesystem::path& suite,
                                               const std::vector<std::string>& plans,
                                               int per_call) {
  const auto chosen = [&](const char* plan) {
    return std::find(plans.begin(), plans.end(), plan) != plans.end();
  };
  FaultList faults(c, suite);
  for (const auto& [call, count] : counts) {
    for (int n = 1; n <= std::min(count, per_call); ++n) {
      const std::string nth = fmt::format("the {} {} of each process", ordinal(n), call);
      if (chosen("inject"))
        if (const script::DocumentedErrors* documented = script::documented_errors(call))
          for (const int err : documented->run_time)
            faults
                .add("inject", fmt::format("{} fails with {}", nth, errno_name(err)),
                     fmt::format("inject={}:error={}:when={}", call, errno_name(err), n))
                .named_by = naming(err);
      if (chosen("signal") && kBlockingCalls.contains(call))
        for (const bool restarting : {true, false}) {
          GoogleTestFault& f = faults.add(
              "signal",
              fmt::format("{} as {} starts, caught {} SA_RESTART", protocol::kFaultSignalName, nth,
                          restarting ? "with" : "without"),
              fmt::format("inject={}:signal={}:when={}", call, protocol::kFaultSignalName, n),
              {fmt::format("{}={}", protocol::kFaultSignalVariable,
                           restarting ? "restart" : "interrupt")});
          f.named_by = naming(EINTR);
          f.restarting = restarting;
        }
      if (chosen("kill"))
        faults.add("kill", fmt::format("SIGKILL as {} starts", nth),
                   fmt::format("inject={}:signal=SIGKILL:when={}", call, n));
    }
  }
  if (chosen("limits"))
    for (const int room : {0, 1, 2}) {
      GoogleTestFault& f =
          faults.add("limits",
                     fmt::format("RLIMIT_NOFILE lets the case process open {} more fd{}", room,
                                 room == 1 ? "" : "s"),
                     "", {fmt::format("{}={}", protocol::kFaultRoomVariable, room)});
      // A descriptor that does not fit is refused where it would be made (EMFILE), or, when
      // it comes in SCM_RIGHTS, dropped with the message flagged MSG_CTRUNC (unix(7)).
      f.named_by = naming(EMFILE);
      f.named_by.push_back("MSG_CTRUNC");
    }
  return faults.take();
}

std::string googletest_violation(const CaseResult& r, const GoogleTestFault& f,
                                 const std::filesystem::path& trace_file) {
  const auto trace = [&] { return trace_file.empty() ? std::string() : read_file(trace_file); };
  const auto named = fmt::format("{}", fmt::join(f.named_by.begin(), f.named_by.end(), "\" or \""));
  switch (r.status) {
    case Status::kHung:
      return fmt::format("the case hung after {}: {}", f.fault, r.message);
    case Status::kFailed:
      if (r.message.find("did not finish within its deadline") != std::string::npos)
        return fmt::format("the case did not end after {}: {}", f.fault, r.message);
      // signal(7): with SA_RESTART, a socket call is restarted after the handler, unless a
      // timeout (SO_RCVTIMEO, SO_SNDTIMEO) is set on its socket, when it fails with EINTR.
      if (const std::string text = f.restarting ? trace() : "";
          f.restarting && text.find("SO_RCVTIMEO") == std::string::npos &&
          text.find("SO_SNDTIMEO") == std::string::npos)
        return fmt::format(
            "the case failed after {}, but no socket of it has a timeout, so the call should "
            "have been restarted and the case pass; its message:\n{}",
            f.fault, r.message);
      if (f.named_by.empty() || names_any(r.message, f.named_by)) return "";
      return fmt::format(
          "the case failed without naming \"{}\", what it met ({}); its message:\n{}", named,
          f.fault, r.message);
    case Status::kPassed:
      if (f.plan == "kill")
        if (const auto killed = killed_from_outside(trace()); !killed.empty())
          return fmt::format(
              "the case passed, though process {} of it was killed ({}) and the case did not "
              "kill it",
              fmt::join(killed, ", "), f.fault);
      return "";
    default:
      return "";
  }
}

}  // namespace sockspec
