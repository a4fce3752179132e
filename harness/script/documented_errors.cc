#include "script/documented_errors.h"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <initializer_list>
#include <map>

namespace sockspec::script {

namespace {

// EWOULDBLOCK is EAGAIN on Linux; the pages' "EAGAIN or EWOULDBLOCK" is listed as EAGAIN.

// unix(7)'s ERRORS, which it gives to every call on an AF_UNIX socket.
const std::vector<int> kUnix7 = {
    EADDRINUSE,      EBADF,      ECONNREFUSED,    ECONNRESET, EFAULT,      EINVAL, EISCONN,
    ENFILE,          ENOENT,     ENOMEM,          ENOTCONN,   EOPNOTSUPP,  EPERM,  EPIPE,
    EPROTONOSUPPORT, EPROTOTYPE, ESOCKTNOSUPPORT, ESRCH,      ETOOMANYREFS};

// The pages several calls share.
// accept(2), with the errors of its "Various Linux kernels can return other errors such as
// ENOSR, ESOCKTNOSUPPORT, EPROTONOSUPPORT, ETIMEDOUT".
const std::vector<int> kAccept2 = {EAGAIN,          EBADF,           ECONNABORTED, EFAULT,  EINTR,
                                   EINVAL,          EMFILE,          ENFILE,       ENOBUFS, ENOMEM,
                                   ENOTSOCK,        EOPNOTSUPP,      EPERM,        EPROTO,  ENOSR,
                                   ESOCKTNOSUPPORT, EPROTONOSUPPORT, ETIMEDOUT};
const std::vector<int> kGetsockopt2 = {EBADF, EFAULT, EINVAL, ENOPROTOOPT, ENOTSOCK};
const std::vector<int> kSend2 = {EACCES, EAGAIN,   EALREADY, EBADF,      ECONNRESET, EDESTADDRREQ,
                                 EFAULT, EINTR,    EINVAL,   EISCONN,    EMSGSIZE,   ENOBUFS,
                                 ENOMEM, ENOTCONN, ENOTSOCK, EOPNOTSUPP, EPIPE};
const std::vector<int> kRecv2 = {EAGAIN, EBADF,  ECONNREFUSED, EFAULT,  EINTR,
                                 EINVAL, ENOMEM, ENOTCONN,     ENOTSOCK};
const std::vector<int> kWrite2 = {EAGAIN, EBADF,  EDESTADDRREQ, EDQUOT, EFAULT, EFBIG,
                                  EINTR,  EINVAL, EIO,          ENOSPC, EPERM,  EPIPE};
const std::vector<int> kRead2 = {EAGAIN, EBADF, EFAULT, EINTR, EINVAL, EIO, EISDIR};
// Not ENXIO, which is SEEK_DATA's and SEEK_HOLE's only.
const std::vector<int> kLseek2 = {EBADF, EINVAL, EOVERFLOW, ESPIPE};

// The run-time errors of the calls that share a page.
const std::vector<int> kAcceptRunTime = {EAGAIN, ECONNABORTED, EINTR, EMFILE, ENFILE,   ENOBUFS,
                                         ENOMEM, ENOSR,        EPERM, EPROTO, ETIMEDOUT};
const std::vector<int> kSendRunTime = {EAGAIN,  ECONNREFUSED, ECONNRESET, EINTR,
                                       ENOBUFS, ENOMEM,       EPIPE};
const std::vector<int> kRecvRunTime = {EAGAIN, ECONNREFUSED, ECONNRESET, EINTR, ENOMEM};
const std::vector<int> kWriteRunTime = {EAGAIN, ECONNREFUSED, ECONNRESET, EDQUOT, EFBIG, EINTR,
                                        EIO,    ENOMEM,       ENOSPC,     EPERM,  EPIPE};
const std::vector<int> kReadRunTime = {EAGAIN, ECONNREFUSED, ECONNRESET, EINTR, EIO, ENOMEM};

// The errors of `lists`, sorted, each once.
std::vector<int> join(std::initializer_list<std::vector<int>> lists) {
  std::vector<int> joined;
  for (const std::vector<int>& list : lists) joined.insert(joined.end(), list.begin(), list.end());
  std::sort(joined.begin(), joined.end());
  joined.erase(std::unique(joined.begin(), joined.end()), joined.end());
  return joined;
}

// {call, {all, run_time, pages}}.
const std::map<std::string_view, DocumentedErrors, std::less<>> kDocumented = {
    // Sockets: making, naming, connecting. getsockopt's ERANGE is unix(7)'s, for SO_PEERSEC,
    // outside its ERRORS.
    {"socket",
     {join({{EACCES, EAFNOSUPPORT, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOMEM, EPROTONOSUPPORT},
            kUnix7}),
      {EACCES, EMFILE, ENFILE, ENOBUFS, ENOMEM},
      "socket(2), unix(7)"}},
    {"socketpair",
     {join({{EAFNOSUPPORT, EFAULT, EMFILE, ENFILE, EOPNOTSUPP, EPROTONOSUPPORT}, kUnix7}),
      {EMFILE, ENFILE, ENOMEM},
      "socketpair(2), unix(7)"}},
    {"bind",
     {join({{EACCES, EADDRINUSE, EADDRNOTAVAIL, EBADF, EFAULT, EINVAL, ELOOP, ENAMETOOLONG, ENOENT,
             ENOMEM, ENOTDIR, ENOTSOCK, EROFS},
            kUnix7}),
      {EACCES, EADDRINUSE, ENOMEM, EROFS},
      "bind(2), unix(7)"}},
    {"listen",
     {join({{EADDRINUSE, EBADF, ENOTSOCK, EOPNOTSUPP}, kUnix7}),
      {EADDRINUSE, ENOMEM},
      "listen(2), unix(7)"}},
    {"accept", {join({kAccept2, kUnix7}), kAcceptRunTime, "accept(2), unix(7)"}},
    {"accept4", {join({kAccept2, kUnix7}), kAcceptRunTime, "accept4(2), unix(7)"}},
    {"connect",
     {join({{EACCES, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN, EALREADY, EBADF, ECONNREFUSED,
             EFAULT, EINPROGRESS, EINTR, EISCONN, ENETUNREACH, ENOTSOCK, EPERM, EPROTOTYPE,
             ETIMEDOUT},
            kUnix7}),
      {EACCES, EADDRINUSE, EAGAIN, ECONNREFUSED, EINPROGRESS, EINTR, ENETUNREACH, ENFILE, ENOENT,
       ENOMEM, EPERM, ETIMEDOUT},
      "connect(2), unix(7)"}},
    {"shutdown",
     {join({{EBADF, EINVAL, ENOTCONN, ENOTSOCK}, kUnix7}), {ENOMEM}, "shutdown(2), unix(7)"}},
    {"getsockname",
     {join({{EBADF, EFAULT, EINVAL, ENOBUFS, ENOTSOCK}, kUnix7}),
      {ENOBUFS, ENOMEM},
      "getsockname(2), unix(7)"}},
    {"getpeername",
     {join({{EBADF, EFAULT, EINVAL, ENOBUFS, ENOTCONN, ENOTSOCK}, kUnix7}),
      {ENOBUFS, ENOMEM},
      "getpeername(2), unix(7)"}},
    {"getsockopt", {join({kGetsockopt2, {ERANGE}, kUnix7}), {ENOMEM}, "getsockopt(2), unix(7)"}},
    {"setsockopt", {join({kGetsockopt2, kUnix7}), {ENOMEM, EPERM}, "setsockopt(2), unix(7)"}},

    // Data. readv(2) gives readv read(2)'s errors and writev write(2)'s; pread(2) gives pread
    // read(2)'s and lseek(2)'s, pwrite write(2)'s and lseek(2)'s. sendto can meet EACCES and
    // ENOENT on its address, sendmsg ETOOMANYREFS on its SCM_RIGHTS.
    {"send", {join({kSend2, kUnix7}), kSendRunTime, "send(2), unix(7)"}},
    {"sendto",
     {join({kSend2, kUnix7}), join({kSendRunTime, {EACCES, ENOENT}}), "sendto(2), unix(7)"}},
    {"sendmsg",
     {join({kSend2, kUnix7}), join({kSendRunTime, {ETOOMANYREFS}}), "sendmsg(2), unix(7)"}},
    {"sendmmsg", {join({kSend2, kUnix7}), kSendRunTime, "sendmmsg(2), sendmsg(2), unix(7)"}},
    {"write", {join({kWrite2, kUnix7}), kWriteRunTime, "write(2), unix(7)"}},
    {"writev", {join({{EINVAL}, kWrite2, kUnix7}), kWriteRunTime, "writev(2), write(2), unix(7)"}},
    {"pwrite",
     {join({kWrite2, kLseek2}),
      {EAGAIN, EDQUOT, EFBIG, EINTR, EIO, ENOSPC, EPERM},
      "pwrite(2), write(2), lseek(2)"}},
    {"sendfile",
     {{EAGAIN, EBADF, EFAULT, EINVAL, EIO, ENOMEM, EOVERFLOW, ESPIPE},
      {EAGAIN, EIO, ENOMEM},
      "sendfile(2)"}},
    {"recv", {join({kRecv2, kUnix7}), kRecvRunTime, "recv(2), unix(7)"}},
    {"recvfrom", {join({kRecv2, kUnix7}), kRecvRunTime, "recvfrom(2), unix(7)"}},
    {"recvmsg", {join({kRecv2, kUnix7}), kRecvRunTime, "recvmsg(2), unix(7)"}},
    {"recvmmsg",
     {join({{EINVAL}, kRecv2, kUnix7}), kRecvRunTime, "recvmmsg(2), recvmsg(2), unix(7)"}},
    {"read", {join({kRead2, kUnix7}), kReadRunTime, "read(2), unix(7)"}},
    {"readv", {join({{EINVAL}, kRead2, kUnix7}), kReadRunTime, "readv(2), read(2), unix(7)"}},
    {"pread", {join({kRead2, kLseek2}), {EAGAIN, EINTR, EIO}, "pread(2), read(2), lseek(2)"}},

    // Waiting.
    {"poll", {{EFAULT, EINTR, EINVAL, ENOMEM}, {EINTR, ENOMEM}, "poll(2)"}},
    {"select", {{EBADF, EINTR, EINVAL, ENOMEM}, {EINTR, ENOMEM}, "select(2)"}},
    {"epoll_create1",
     {{EINVAL, EMFILE, ENFILE, ENOMEM}, {EMFILE, ENFILE, ENOMEM}, "epoll_create1(2)"}},
    {"epoll_ctl",
     {{EBADF, EEXIST, EINVAL, ELOOP, ENOENT, ENOMEM, ENOSPC, EPERM},
      {ENOMEM, ENOSPC},
      "epoll_ctl(2)"}},
    {"epoll_wait", {{EBADF, EFAULT, EINTR, EINVAL}, {EINTR}, "epoll_wait(2)"}},

    // Descriptors and files. Where a page serves several calls, the entries it gives to
    // another one only are left out: dup2's and dup3's, fstatat's and the other *at()s' dirfd
    // and flags, statfs's path, fchmod's and fchown's fd, chmod's and chown's path.
    {"close", {{EBADF, EDQUOT, EINTR, EIO, ENOSPC}, {EDQUOT, EINTR, EIO, ENOSPC}, "close(2)"}},
    {"dup", {{EBADF, EMFILE}, {EMFILE}, "dup(2)"}},
    {"fcntl",
     {{EACCES, EAGAIN, EBADF, EBUSY, EDEADLK, EFAULT, EINTR, EINVAL, EMFILE, ENOLCK, ENOTDIR,
       EPERM},
      {EACCES, EAGAIN, EBUSY, EDEADLK, EINTR, EMFILE, ENOLCK, EPERM},
      "fcntl(2)"}},
    // unix(7)'s errors apply to an ioctl() on an AF_UNIX socket as to any of its calls
    // (EOPNOTSUPP for SIOCATMARK on a socket that is not a stream).
    {"ioctl", {join({{EBADF, EFAULT, EINVAL, ENOTTY}, kUnix7}), {}, "ioctl(2), unix(7)"}},
    {"fstat", {{EBADF, EFAULT, ENOMEM, EOVERFLOW}, {ENOMEM}, "fstat(2)"}},
    {"fstatfs",
     {{EBADF, EFAULT, EINTR, EIO, ENOMEM, ENOSYS, EOVERFLOW}, {EINTR, EIO, ENOMEM}, "fstatfs(2)"}},
    {"fsync",
     {{EBADF, EDQUOT, EINTR, EINVAL, EIO, ENOSPC, EROFS},
      {EDQUOT, EINTR, EIO, ENOSPC},
      "fsync(2)"}},
    {"stat",
     {{EACCES, EFAULT, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EOVERFLOW},
      {EACCES, ENOMEM},
      "stat(2)"}},
    {"open",
     {{EACCES,  EAGAIN, EBUSY,      EDQUOT,       EEXIST, EFAULT, EFBIG,  EINTR,  EINVAL,
       EISDIR,  ELOOP,  EMFILE,     ENAMETOOLONG, ENFILE, ENODEV, ENOENT, ENOMEM, ENOSPC,
       ENOTDIR, ENXIO,  EOPNOTSUPP, EOVERFLOW,    EPERM,  EROFS,  ETXTBSY},
      {EACCES, EAGAIN, EBUSY, EDQUOT, EINTR, EMFILE, ENFILE, ENOMEM, ENOSPC, ENXIO, EPERM, EROFS,
       ETXTBSY},
      "open(2)"}},
    {"link",
     {{EACCES, EDQUOT, EEXIST, EFAULT, EIO, ELOOP, EMLINK, ENAMETOOLONG, ENOENT, ENOMEM, ENOSPC,
       ENOTDIR, EPERM, EROFS, EXDEV},
      {EACCES, EDQUOT, EIO, EMLINK, ENOMEM, ENOSPC, EPERM, EROFS},
      "link(2)"}},
    {"symlink",
     {{EACCES, EDQUOT, EEXIST, EFAULT, EIO, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOSPC, ENOTDIR,
       EPERM, EROFS},
      {EACCES, EDQUOT, EIO, ENOMEM, ENOSPC, EROFS},
      "symlink(2)"}},
    {"unlink",
     {{EACCES, EBUSY, EFAULT, EIO, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EPERM,
       EROFS},
      {EACCES, EBUSY, EIO, ENOMEM, EPERM, EROFS},
      "unlink(2)"}},
    {"mkdir",
     {{EACCES, EDQUOT, EEXIST, EFAULT, EINVAL, ELOOP, EMLINK, ENAMETOOLONG, ENOENT, ENOMEM, ENOSPC,
       ENOTDIR, EPERM, EROFS},
      {EACCES, EDQUOT, EMLINK, ENOMEM, ENOSPC, EROFS},
      "mkdir(2)"}},
    {"chmod",
     {{EACCES, EFAULT, EIO, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EPERM, EROFS},
      {EACCES, EIO, ENOMEM, EPERM, EROFS},
      "chmod(2)"}},
    {"chown",
     {{EACCES, EFAULT, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EPERM, EROFS},
      {EACCES, ENOMEM, EPERM, EROFS},
      "chown(2)"}},
    {"fchmod", {{EBADF, EIO, ENOMEM, EPERM, EROFS}, {EIO, ENOMEM, EPERM, EROFS}, "fchmod(2)"}},
    {"fchown", {{EBADF, EIO, ENOMEM, EPERM, EROFS}, {EIO, ENOMEM, EPERM, EROFS}, "fchown(2)"}},
    {"umask", {{}, {}, "umask(2)"}},  // "always succeeds"

    // Signals.
    {"signal", {{EINVAL}, {}, "signal(2)"}},
    {"sigaction", {{EFAULT, EINVAL}, {}, "sigaction(2)"}},
    {"sigprocmask", {{EFAULT, EINVAL}, {}, "sigprocmask(2)"}},
    {"sigpending", {{EFAULT}, {}, "sigpending(2)"}},
};

// Errors Linux 6.18 returns that the call's pages do not list: each a finding of the fault
// campaigns (ci/FINDINGS.md, "The man pages"), kept apart from what the pages say.
const std::map<std::string_view, std::vector<int>, std::less<>> kUndocumentedOnLinux = {
    // A sendfile() to a stream socket whose reader is gone fails as a write would: EPIPE
    // (and SIGPIPE), or ECONNRESET when the reader closed with data unread while sendfile()
    // waited; sendfile(2) lists none of them.
    // It also fails with EINTR when a signal comes while it waits for room, and with
    // ENOTCONN into a datagram or seqpacket socket with no peer.
    {"sendfile", {EPIPE, ECONNRESET, EINTR, ENOTCONN}},
    // setsockopt(SO_RCVTIMEO or SO_SNDTIMEO) with a tv_usec outside 0..999999 fails with
    // EDOM; neither setsockopt(2) nor socket(7) lists it (cases/17-options/33).
    {"setsockopt", {EDOM}},
    // write() and writev() of a message too long for a datagram or seqpacket socket's send
    // buffer fail with EMSGSIZE, as send() does; send(2) lists it, write(2) only says "other
    // errors may occur, depending on the object connected to fd" (the differential fuzzer).
    {"write", {EMSGSIZE}},
    {"writev", {EMSGSIZE}},
};

}  // namespace

const DocumentedErrors* documented_errors(std::string_view call) {
  const auto found = kDocumented.find(call);
  return found == kDocumented.end() ? nullptr : &found->second;
}

bool documents(std::string_view call, int err) {
  const DocumentedErrors* errors = documented_errors(call);
  return errors != nullptr &&
         std::find(errors->all.begin(), errors->all.end(), err) != errors->all.end();
}

bool undocumented_on_linux(std::string_view call, int err) {
  const auto found = kUndocumentedOnLinux.find(call);
  return found != kUndocumentedOnLinux.end() &&
         std::find(found->second.begin(), found->second.end(), err) != found->second.end();
}

}  // namespace sockspec::script
