#include "os/names.h"

#include <sys/socket.h>

#include <array>
#include <cstring>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace sockspec {

// Defined in the generated syscall_table.cc, made from <asm/unistd_64.h> at build time.
extern const std::pair<long, const char*> kSyscallTable[];
extern const std::size_t kSyscallTableSize;

std::string errno_name(int err) {
  if (err == 0) return "0";
  if (const char* name = strerrorname_np(err)) return name;
  return fmt::format("errno {}", err);
}

std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return fmt::format("SIG{}", abbrev);
  return fmt::format("signal {}", sig);
}

namespace {

struct NamedBit {
  int bit;
  std::string_view name;
};

constexpr std::array kMsgFlags{
    NamedBit{MSG_OOB, "MSG_OOB"},
    NamedBit{MSG_PEEK, "MSG_PEEK"},
    NamedBit{MSG_DONTROUTE, "MSG_DONTROUTE"},
    NamedBit{MSG_CTRUNC, "MSG_CTRUNC"},
    NamedBit{MSG_TRUNC, "MSG_TRUNC"},
    NamedBit{MSG_DONTWAIT, "MSG_DONTWAIT"},
    NamedBit{MSG_EOR, "MSG_EOR"},
    NamedBit{MSG_WAITALL, "MSG_WAITALL"},
    NamedBit{MSG_CONFIRM, "MSG_CONFIRM"},
    NamedBit{MSG_ERRQUEUE, "MSG_ERRQUEUE"},
    NamedBit{MSG_NOSIGNAL, "MSG_NOSIGNAL"},
    NamedBit{MSG_MORE, "MSG_MORE"},
    NamedBit{MSG_CMSG_CLOEXEC, "MSG_CMSG_CLOEXEC"},
};

template <std::size_t N>
std::string bits_name(int value, const std::array<NamedBit, N>& table) {
  std::string out;
  for (const auto& [bit, name] : table) {
    if ((value & bit) == 0) continue;
    if (!out.empty()) out += '|';
    out += name;
    value &= ~bit;
  }
  if (value != 0) out += fmt::format("{}{:#x}", out.empty() ? "" : "|", value);
  return out.empty() ? "0" : out;
}

}  // namespace

std::string msg_flags_name(int flags) {
  return bits_name(flags, kMsgFlags);
}

std::string socket_type_name(int type) {
  const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  std::string out;
  switch (base) {
    case SOCK_STREAM:
      out = "SOCK_STREAM";
      break;
    case SOCK_DGRAM:
      out = "SOCK_DGRAM";
      break;
    case SOCK_SEQPACKET:
      out = "SOCK_SEQPACKET";
      break;
    case SOCK_RAW:
      out = "SOCK_RAW";
      break;
    default:
      out = fmt::format("type {}", base);
  }
  if (type & SOCK_NONBLOCK) out += "|SOCK_NONBLOCK";
  if (type & SOCK_CLOEXEC) out += "|SOCK_CLOEXEC";
  return out;
}

std::string syscall_name(long nr) {
  for (std::size_t i = 0; i < kSyscallTableSize; ++i)
    if (kSyscallTable[i].first == nr) return kSyscallTable[i].second;
  return fmt::format("syscall {}", nr);
}

long syscall_number(const std::string& name) {
  for (std::size_t i = 0; i < kSyscallTableSize; ++i)
    if (name == kSyscallTable[i].second) return kSyscallTable[i].first;
  return -1;
}

}  // namespace sockspec
