// Symbolic names for the numbers a failure message would otherwise show:
// errno values, MSG_* flags, socket types, signals and syscall numbers.
#pragma once

#include <string>

namespace sockspec {

// "EAGAIN" for EAGAIN; "errno 4242" for a number this libc does not name.
std::string errno_name(int err);
// "MSG_DONTWAIT|MSG_NOSIGNAL", "0" for no flags; unknown bits as hex.
std::string msg_flags_name(int flags);
// "SOCK_STREAM", with "|SOCK_NONBLOCK|SOCK_CLOEXEC" when those bits are set.
std::string socket_type_name(int type);
// "SIGPIPE"; "signal 77" for a number this libc does not name.
std::string signal_name(int sig);
// The x86-64 syscall name for a number read from /proc/PID/syscall ("recvfrom").
std::string syscall_name(long nr);
// The number for a name, or -1 when the name is not a syscall of this architecture.
long syscall_number(const std::string& name);

}  // namespace sockspec
