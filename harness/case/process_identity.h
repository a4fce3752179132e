// What /proc says about a process's identity, for the cases that compare it with what a
// socket reports: the process a pidfd refers to, and this process's security context.
#pragma once

#include <fmt/format.h>

#include <fstream>
#include <string>

namespace sockspec {

// The pid a pidfd refers to, from its fdinfo ("Pid:\t1234"); -1 when it shows none.
inline long pid_of_pidfd(int pidfd) {
  std::ifstream info(fmt::format("/proc/self/fdinfo/{}", pidfd));
  for (std::string line; std::getline(info, line);)
    if (line.starts_with("Pid:")) return std::stol(line.substr(4));
  return -1;
}

// This process's security context as its LSM writes it (/proc/self/attr/current), without
// the trailing newline or NUL; "" where no LSM gives one.
inline std::string own_security_context() {
  std::ifstream file("/proc/self/attr/current");
  std::string context;
  std::getline(file, context, '\0');
  while (!context.empty() && (context.back() == '\n' || context.back() == '\0')) context.pop_back();
  return context;
}

}  // namespace sockspec
