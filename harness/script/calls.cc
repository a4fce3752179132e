#include "script/calls.h"

#include <fmt/format.h>

#include "script/constants.h"

namespace sockspec::script {

namespace {

// Syscall names may list the equivalents a libc may use instead ("select|pselect6": glibc
// makes select() a pselect6()); "blocked in" accepts any of them.
const std::vector<Call> kCalls = {
    // Sockets: making, naming, connecting.
    {"socket", "iii", 3, 1, false, "socket", 0, "socket(domain, type, protocol)", "a new socket"},
    {"socketpair", "iii", 3, 2, false, "socketpair", 0, "socketpair(domain, type, protocol)",
     "two connected sockets: `a, b = socketpair(...)`"},
    {"bind", "va", 2, 0, false, "bind", 0, "bind(fd, address)", "names the socket"},
    {"listen", "vi", 2, 0, false, "listen", 0, "listen(fd, backlog)", ""},
    {"accept", "v", 1, 1, true, "accept|accept4", kFrom, "accept(fd)",
     "the new connection; from= is the client's address"},
    {"accept4", "vi", 2, 1, true, "accept4", kFrom, "accept4(fd, flags)", "accept with flags"},
    {"connect", "va", 2, 0, true, "connect", 0, "connect(fd, address)", ""},
    {"shutdown", "vi", 2, 0, false, "shutdown", 0, "shutdown(fd, how)", ""},
    {"close", "v", 1, 0, false, "close", 0, "close(fd)", ""},
    {"getsockname", "v", 1, 0, false, "getsockname", kAddressValue, "getsockname(fd)",
     "the socket's own name"},
    {"getpeername", "v", 1, 0, false, "getpeername", kAddressValue, "getpeername(fd)",
     "the peer's name"},
    {"getsockopt", "viii", 3, 0, false, "getsockopt", kOptionResult,
     "getsockopt(fd, level, option [, optlen])",
     "struct options: SO_RCVTIMEO, SO_SNDTIMEO {sec= usec=}, SO_LINGER {onoff= linger=}, "
     "SO_PEERCRED {pid= uid= gid=}; optlen: the buffer's size, when it is not the option's"},
    {"setsockopt", "viio", 4, 0, false, "setsockopt", 0, "setsockopt(fd, level, option, value)",
     "value: a number, {field=value ...}, or \"raw bytes\" (any optlen)"},
    // Data.
    {"send", "vbi", 3, 0, true, "sendto", 0, "send(fd, bytes, flags)", ""},
    {"sendto", "vbia", 4, 0, true, "sendto", 0, "sendto(fd, bytes, flags, address)", ""},
    {"sendmsg", "vbir", 3, 0, true, "sendmsg", 0,
     "sendmsg(fd, bytes, flags [, SCM_RIGHTS(fd, ...)] [, SCM_CREDENTIALS])",
     "SCM_CREDENTIALS sends the actor's own pid, uid and gid"},
    {"sendmmsg", "vBi", 3, 0, true, "sendmmsg|sendmsg", 0, "sendmmsg(fd, [bytes, ...], flags)",
     "returns the number of messages sent"},
    {"write", "vb", 2, 0, true, "write", 0, "write(fd, bytes)", ""},
    {"writev", "vB", 2, 0, true, "writev", 0, "writev(fd, [bytes, ...])", "one buffer each"},
    {"pwrite", "vbi", 3, 0, true, "pwrite64", 0, "pwrite(fd, bytes, offset)", ""},
    {"sendfile", "vvi", 3, 0, true, "sendfile|sendfile64", 0, "sendfile(out_fd, in_fd, count)",
     "from in_fd's file offset, which it advances"},
    {"recv", "vii", 3, 0, true, "recvfrom", kReceivesBytes, "recv(fd, len, flags)", ""},
    {"recvfrom", "vii", 3, 0, true, "recvfrom", kReceivesBytes | kFrom, "recvfrom(fd, len, flags)",
     ""},
    {"recvmsg", "viii", 3, 0, true, "recvmsg",
     kReceivesBytes | kFrom | kMsgFlags | kReceivesFds | kReceivesCreds,
     "recvmsg(fd, len, flags [, controllen])",
     "room for 16 fds and one set of credentials unless controllen (bytes) says less"},
    {"recvmmsg", "vlii", 3, 0, true, "recvmmsg|recvmsg", kMessages,
     "recvmmsg(fd, [len, ...], flags [, timeout_ms])",
     "one buffer of each length; timeout_ms: recvmmsg's timeout"},
    {"read", "vi", 2, 0, true, "read", kReceivesBytes, "read(fd, len)", ""},
    {"readv", "vl", 2, 0, true, "readv", kReceivesBytes, "readv(fd, [len, ...])",
     "the bytes of all buffers, in order"},
    {"pread", "vii", 3, 0, true, "pread64", kReceivesBytes, "pread(fd, len, offset)", ""},
    // Waiting.
    {"poll", "vii", 3, 0, true, "poll|ppoll", kRevents, "poll(fd, events, timeout_ms)", "one fd"},
    {"select", "vii", 3, 0, true, "select|pselect6", kRevents, "select(fd, events, timeout_ms)",
     "one fd: POLLIN puts it in readfds, POLLOUT in writefds, POLLPRI in exceptfds; revents= "
     "names the sets it is in afterwards"},
    {"epoll_create1", "i", 1, 1, false, "epoll_create1", 0, "epoll_create1(flags)", ""},
    {"epoll_ctl", "vivi", 4, 0, false, "epoll_ctl", 0, "epoll_ctl(epfd, op, fd, events)",
     "the event's data is the fd"},
    {"epoll_wait", "vii", 3, 0, true, "epoll_wait|epoll_pwait", kEvents,
     "epoll_wait(epfd, maxevents, timeout_ms)", "events= pairs each ready fd with its events"},
    // Descriptors and files.
    {"dup", "v", 1, 1, false, "dup", 0, "dup(fd)", "the same open file, a new fd"},
    {"fcntl", "vii", 2, 0, false, "fcntl", 0, "fcntl(fd, cmd [, arg])", ""},
    {"ioctl", "vii", 2, 0, false, "ioctl", 0, "ioctl(fd, request [, value])",
     "returns the int the request reads (FIONREAD, TIOCOUTQ, SIOCATMARK); value: the int it "
     "is given (FIONBIO)"},
    {"fstat", "v", 1, 0, false, "fstat|newfstatat", kFileMode, "fstat(fd)", "returns st_mode"},
    {"fstatfs", "v", 1, 0, false, "fstatfs", kMagicNumber, "fstatfs(fd)", "returns f_type"},
    {"fsync", "v", 1, 0, false, "fsync", 0, "fsync(fd)", ""},
    {"stat", "p", 1, 0, false, "stat|newfstatat|statx", kFileMode, "stat(path)", "returns st_mode"},
    {"open", "pii", 2, 1, true, "openat|open", 0, "open(path, flags [, mode])",
     "a path relative to the case's directory"},
    {"link", "pp", 2, 0, false, "link|linkat", 0, "link(path, new_path)", ""},
    {"symlink", "pp", 2, 0, false, "symlink|symlinkat", 0, "symlink(target, path)", ""},
    {"unlink", "p", 1, 0, false, "unlink|unlinkat", 0, "unlink(path)", ""},
    {"mkdir", "pi", 2, 0, false, "mkdir|mkdirat", 0, "mkdir(path, mode)", ""},
    {"chmod", "pi", 2, 0, false, "chmod|fchmodat", 0, "chmod(path, mode)", ""},
    {"chown", "pii", 3, 0, false, "chown|fchownat", 0, "chown(path, uid, gid)", ""},
    {"fchmod", "vi", 2, 0, false, "fchmod", 0, "fchmod(fd, mode)", ""},
    {"fchown", "vii", 3, 0, false, "fchown", 0, "fchown(fd, uid, gid)", ""},
    {"umask", "i", 1, 0, false, "umask", 0, "umask(mask)", "returns the old mask"},
    // Signals.
    {"signal", "ih", 2, 0, false, "rt_sigaction", 0, "signal(sig, SIG_IGN|SIG_DFL|catch)",
     "catch: a handler that returns, installed without SA_RESTART"},
    {"sigaction", "ihi", 3, 0, false, "rt_sigaction", 0, "sigaction(sig, handler, flags)",
     "handler: SIG_IGN, SIG_DFL or catch; flags: SA_RESTART, ..."},
    {"sigprocmask", "ii", 2, 0, false, "rt_sigprocmask", 0, "sigprocmask(how, sig)",
     "SIG_BLOCK or SIG_UNBLOCK one signal"},
    {"sigpending", "", 0, 0, false, "rt_sigpending", kSignalSet, "sigpending()",
     "the set of pending signals"},
};

}  // namespace

const std::vector<Call>& calls() {
  return kCalls;
}

const Call* find_call(std::string_view name) {
  for (const auto& call : kCalls)
    if (call.name == name) return &call;
  return nullptr;
}

std::string nearest_call(std::string_view name) {
  std::vector<std::string_view> names;
  for (const auto& call : kCalls) names.push_back(call.name);
  return nearest_name(name, names);
}

namespace {

// What an expectation of the call may check besides its value, as a script writes it.
std::string result_forms(const Call& call) {
  static const std::pair<unsigned, const char*> kForms[] = {
      {kReceivesBytes, "`\"bytes\"`, `eof`"},
      {kMessages, "`N [\"a\", ...]`"},
      {kAddressValue, "`0 ADDRESS`"},
      {kOptionResult, "a number or `{field=value ...}`"},
      {kSignalSet, "`SIGPIPE\\|...`, `none`"},
      {kFileMode, "`S_IFSOCK\\|0777`"},
      {kMagicNumber, "`SOCKFS_MAGIC`"},
      {kFrom, "`from=`"},
      {kMsgFlags, "`flags=`"},
      {kRevents, "`revents=`"},
      {kEvents, "`events=[fd:EPOLLIN]`"},
      {kReceivesFds, "`SCM_RIGHTS(x, ...)`"},
      {kReceivesCreds, "`SCM_CREDENTIALS(pid=, uid=, gid=)`"},
  };
  std::vector<std::string> forms;
  if (call.binds > 0) forms.push_back(call.binds == 1 ? "binds an fd" : "binds 2 fds");
  for (const auto& [bit, form] : kForms)
    if (call.attributes & bit) forms.push_back(form);
  return fmt::format("{}", fmt::join(forms, ", "));
}

}  // namespace

std::string calls_reference() {
  // A '|' inside a cell, even in `code`, would end the cell.
  auto cell = [](std::string_view text) {
    std::string escaped;
    for (const char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
    return escaped;
  };
  std::string table =
      "| call | system call | can block | result | notes |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& call : kCalls) {
    std::string syscall(call.syscall);
    for (std::size_t bar; (bar = syscall.find('|')) != std::string::npos;)
      syscall.replace(bar, 1, " or ");
    table += fmt::format("| `{}` | {} | {} | {} | {} |\n", cell(call.signature), syscall,
                         call.can_block ? "yes" : "", result_forms(call), cell(call.meaning));
  }
  return table;
}

}  // namespace sockspec::script
