#include "runner/googletest_faults.h"

#include <algorithm>
#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "os/names.h"
#include "script/documented_errors.h"

namespace sockspec {

namespace {

// The system calls only sockets make: faulting them reaches the case's calls and never the
// harness's own (its channels are pipes, read and written).
const std::vector<std::string> kSocketCalls = {
    "socket",  "socketpair", "bind",        "listen",      "accept",     "accept4",
    "connect", "shutdown",   "getsockname", "getpeername", "getsockopt", "setsockopt",
    "sendto",  "recvfrom",   "sendmsg",     "recvmsg",     "sendmmsg",   "recvmmsg"};

std::string ordinal(int n) {
  const char* suffix = (n % 100 >= 11 && n % 100 <= 13) ? "th"
                       : n % 10 == 1                    ? "st"
                       : n % 10 == 2                    ? "nd"
                       : n % 10 == 3                    ? "rd"
                                                        : "th";
  return fmt::format("{}{}", n, suffix);
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
                                               const std::filesystem::path& suite, int per_call) {
  std::vector<GoogleTestFault> faults;
  for (const auto& [call, count] : counts) {
    const script::DocumentedErrors* documented = script::documented_errors(call);
    if (!documented) continue;
    for (int n = 1; n <= std::min(count, per_call); ++n)
      for (const int err : documented->run_time) {
        GoogleTestFault f;
        f.errno_name = errno_name(err);
        f.fault =
            fmt::format("the {} {} of each process fails with {}", ordinal(n), call, f.errno_name);
        f.run = c;
        f.run.test_name = c.name;
        f.run.name = fmt::format("faults/{}/inject-{:03}", c.name, faults.size() + 1);
        f.run.strace_inject = fmt::format("inject={}:error={}:when={}", call, f.errno_name, n);
        f.run.rule = f.fault + " — " + c.rule;
        f.reproduce = fmt::format("strace -f -qq -e trace=none -e {} {} --gtest_filter='{}'",
                                  f.run.strace_inject, suite.string(), c.name);
        faults.push_back(std::move(f));
      }
  }
  return faults;
}

std::string googletest_violation(const CaseResult& r, const GoogleTestFault& f) {
  switch (r.status) {
    case Status::kHung:
      return fmt::format("the case hung after {}: {}", f.fault, r.message);
    case Status::kFailed:
      if (r.message.find(f.errno_name) != std::string::npos) return "";
      return fmt::format(
          "the case failed without naming {}, the error it met ({}); its message:\n{}",
          f.errno_name, f.fault, r.message);
    default:
      return "";
  }
}

}  // namespace sockspec
