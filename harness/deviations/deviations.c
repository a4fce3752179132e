/* libsockspec-deviations: an LD_PRELOAD library that makes AF_UNIX sockets behave wrongly on
 * purpose, one way at a time, so that the scripted cases can be shown to catch an
 * implementation that gets a headline behaviour wrong (harness/tests/deviations.test).
 * `sockspec script --preload libsockspec-deviations.so` puts it under every actor; the
 * environment variable SHIM_DEVIATION says which deviation (not SOCKSPEC_*: the runner strips
 * those from a case's environment). Exactly one is chosen:
 *
 *   reorder-stream       on SOCK_STREAM, send/sendto/sendmsg/write/writev send 2+ bytes reversed
 *   ignore-dontwait      send/sendto/sendmsg/recv/recvfrom/recvmsg lose MSG_DONTWAIT, and block
 *   epipe-as-econnreset  send/sendto/sendmsg/write/writev that fail with EPIPE report ECONNRESET
 *   ignore-nosignal      send/sendto/sendmsg lose MSG_NOSIGNAL: a broken stream raises SIGPIPE
 *   bind-errno:FROM:TO   a bind() that fails with errno FROM reports TO (bind-errno:EACCES:EPERM)
 *   drop-byte            on SOCK_STREAM, a receive of 2+ bytes loses the first of them
 *   leak-received-fd     recvmsg() keeps a copy of the first fd it receives, open and unknown
 *   ignore-sa-restart    sigaction() loses SA_RESTART: a socket call asleep when a caught
 *                        signal comes fails with EINTR instead of being restarted (as on gVisor)
 *
 * Only AF_UNIX sockets deviate (their SO_DOMAIN says so; ignore-sa-restart aside, which is
 * about the calls they make); every other fd, the pipes the
 * harness talks over included, gets the libc call untouched. SHIM_DEVIATION unset, or set to
 * something that is not a deviation, is a mistake of the person running the test: the
 * library says so on stderr and ends the process with status 2 before main() runs, rather
 * than letting a run pass with no deviation in force.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The socket calls below take their addresses as libc declares them (__CONST_SOCKADDR_ARG,
 * __SOCKADDR_ARG): with _GNU_SOURCE those are transparent unions, and a definition must match
 * the declaration to replace it. */

enum deviation {
  kNone, /* before the constructor has run: everything passes through */
  kReorderStream,
  kIgnoreDontwait,
  kEpipeAsEconnreset,
  kIgnoreNosignal,
  kBindErrno,
  kDropByte,
  kLeakReceivedFd,
  kIgnoreSaRestart
};

static enum deviation deviation = kNone;
static int bind_from, bind_to; /* bind-errno:FROM:TO */

static const struct {
  const char* name;
  int value;
} errnos[] = {
    {"EADDRINUSE", EADDRINUSE}, {"EINVAL", EINVAL}, {"ENOENT", ENOENT},
    {"ENOTDIR", ENOTDIR},       {"ELOOP", ELOOP},   {"EACCES", EACCES},
    {"EPERM", EPERM},           {"EROFS", EROFS},   {"ENAMETOOLONG", ENAMETOOLONG},
    {"EISDIR", EISDIR},         {"EEXIST", EEXIST},
};

/* --- the real functions: the next definition after this library (libc's) -------------- */

/* A function pointer cannot be assigned from dlsym()'s void* in ISO C; its bytes can. The
 * lookups are done on first use, since another library's constructor may call before ours. */
#define REAL(type, name)                      \
  static type real_##name(void) {             \
    static type fn;                           \
    if (!fn) {                                \
      void* symbol = dlsym(RTLD_NEXT, #name); \
      if (!symbol) abort();                   \
      memcpy(&fn, &symbol, sizeof fn);        \
    }                                         \
    return fn;                                \
  }

typedef ssize_t (*send_fn)(int, const void*, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void*, size_t, int, __CONST_SOCKADDR_ARG, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr*, int);
typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec*, int);
typedef ssize_t (*recv_fn)(int, void*, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void*, size_t, int, __SOCKADDR_ARG, socklen_t*);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr*, int);
typedef ssize_t (*recv_chk_fn)(int, void*, size_t, size_t, int);
typedef ssize_t (*recvfrom_chk_fn)(int, void*, size_t, size_t, int, __SOCKADDR_ARG, socklen_t*);
typedef int (*bind_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
typedef int (*sigaction_fn)(int, const struct sigaction*, struct sigaction*);

REAL(send_fn, send)
REAL(sendto_fn, sendto)
REAL(sendmsg_fn, sendmsg)
REAL(write_fn, write)
REAL(writev_fn, writev)
REAL(recv_fn, recv)
REAL(recvfrom_fn, recvfrom)
REAL(recvmsg_fn, recvmsg)
REAL(recv_chk_fn, __recv_chk)
REAL(recvfrom_chk_fn, __recvfrom_chk)
REAL(bind_fn, bind)
REAL(sigaction_fn, sigaction)

/* --- which fds deviate ------------------------------------------------------------------ */

/* The socket's SOCK_* type if fd is an AF_UNIX socket, else 0. Leaves errno as it was: the
 * question must not change what the caller sees. */
static int unix_socket_type(int fd) {
  const int saved = errno;
  int domain = 0, type = 0;
  socklen_t length = sizeof domain;
  int result = 0;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 && domain == AF_UNIX) {
    length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0) result = type;
  }
  errno = saved;
  return result;
}

static int is_unix_stream(int fd) {
  return unix_socket_type(fd) == SOCK_STREAM;
}

/* The flags a send or receive call really passes: the deviation may drop one. */
static int send_flags(int fd, int flags) {
  if (deviation == kIgnoreDontwait && (flags & MSG_DONTWAIT) && unix_socket_type(fd))
    return flags & ~MSG_DONTWAIT;
  if (deviation == kIgnoreNosignal && (flags & MSG_NOSIGNAL) && unix_socket_type(fd))
    return flags & ~MSG_NOSIGNAL;
  return flags;
}

static int recv_flags(int fd, int flags) {
  if (deviation == kIgnoreDontwait && (flags & MSG_DONTWAIT) && unix_socket_type(fd))
    return flags & ~MSG_DONTWAIT;
  return flags;
}

/* What a send-like call returns: EPIPE becomes ECONNRESET under epipe-as-econnreset. */
static ssize_t sent(int fd, ssize_t result) {
  if (result < 0 && errno == EPIPE && deviation == kEpipeAsEconnreset && unix_socket_type(fd))
    errno = ECONNRESET;
  return result;
}

/* reorder-stream: the bytes of iov, gathered into one buffer and reversed, or NULL when the
 * call sends them as they are (not a stream, fewer than 2 bytes, or no memory). */
static char* reversed(int fd, const struct iovec* iov, size_t count, size_t* total) {
  if (deviation != kReorderStream) return NULL;
  *total = 0;
  for (size_t i = 0; i < count; ++i) *total += iov[i].iov_len;
  if (*total < 2 || !is_unix_stream(fd)) return NULL;
  char* buffer = malloc(*total);
  if (!buffer) return NULL;
  size_t at = *total;
  for (size_t i = 0; i < count; ++i)
    for (size_t j = 0; j < iov[i].iov_len; ++j) buffer[--at] = ((const char*)iov[i].iov_base)[j];
  return buffer;
}

/* free() that keeps errno: the caller reports the call's errno, not free's. */
static void release(char* buffer) {
  const int saved = errno;
  free(buffer);
  errno = saved;
}

/* --- the interposed calls ---------------------------------------------------------------- */

ssize_t send(int fd, const void* data, size_t length, int flags) {
  const struct iovec iov = {(void*)data, length};
  size_t total;
  char* buffer = reversed(fd, &iov, 1, &total);
  const ssize_t result = real_send()(fd, buffer ? buffer : data, length, send_flags(fd, flags));
  release(buffer);
  return sent(fd, result);
}

ssize_t sendto(int fd, const void* data, size_t length, int flags, __CONST_SOCKADDR_ARG to,
               socklen_t to_length) {
  const struct iovec iov = {(void*)data, length};
  size_t total;
  char* buffer = reversed(fd, &iov, 1, &total);
  const ssize_t result =
      real_sendto()(fd, buffer ? buffer : data, length, send_flags(fd, flags), to, to_length);
  release(buffer);
  return sent(fd, result);
}

ssize_t sendmsg(int fd, const struct msghdr* message, int flags) {
  if (deviation == kNone || !message) return real_sendmsg()(fd, message, flags);
  size_t total;
  char* buffer = reversed(fd, message->msg_iov, message->msg_iovlen, &total);
  struct iovec one = {buffer, total};
  struct msghdr changed = *message;
  if (buffer) {
    changed.msg_iov = &one;
    changed.msg_iovlen = 1;
  }
  const ssize_t result = real_sendmsg()(fd, &changed, send_flags(fd, flags));
  release(buffer);
  return sent(fd, result);
}

ssize_t write(int fd, const void* data, size_t length) {
  if (deviation == kNone) return real_write()(fd, data, length);
  const struct iovec iov = {(void*)data, length};
  size_t total;
  char* buffer = reversed(fd, &iov, 1, &total);
  const ssize_t result = real_write()(fd, buffer ? buffer : data, length);
  release(buffer);
  return sent(fd, result);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  if (deviation == kNone || count < 0) return real_writev()(fd, iov, count);
  size_t total;
  char* buffer = reversed(fd, iov, (size_t)count, &total);
  const struct iovec one = {buffer, total};
  const ssize_t result = buffer ? real_writev()(fd, &one, 1) : real_writev()(fd, iov, count);
  release(buffer);
  return sent(fd, result);
}

/* drop-byte: what a receive of `result` bytes into `data` gives the caller: a stream's bytes
 * but the first, which is gone as if the kernel had lost it. */
static ssize_t received(int fd, char* data, ssize_t result, int flags) {
  if (deviation != kDropByte || result < 2 || (flags & MSG_PEEK) || !is_unix_stream(fd))
    return result;
  memmove(data, data + 1, (size_t)result - 1);
  return result - 1;
}

/* leak-received-fd: a copy of the first fd the message carried, which no one will close. */
static void leak_first_received_fd(const struct msghdr* message, ssize_t result) {
  if (deviation != kLeakReceivedFd || result < 0 || !message) return;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(message); cmsg;
       cmsg = CMSG_NXTHDR((struct msghdr*)message, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
        cmsg->cmsg_len > CMSG_LEN(0)) {
      int fd;
      memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
      const int saved = errno;
      (void)dup(fd);
      errno = saved;
      return;
    }
}

ssize_t recv(int fd, void* data, size_t length, int flags) {
  return received(fd, data, real_recv()(fd, data, length, recv_flags(fd, flags)), flags);
}

ssize_t recvfrom(int fd, void* data, size_t length, int flags, __SOCKADDR_ARG from,
                 socklen_t* from_length) {
  return received(
      fd, data, real_recvfrom()(fd, data, length, recv_flags(fd, flags), from, from_length), flags);
}

ssize_t recvmsg(int fd, struct msghdr* message, int flags) {
  ssize_t result = real_recvmsg()(fd, message, recv_flags(fd, flags));
  leak_first_received_fd(message, result);
  if (message && message->msg_iovlen > 0 && (size_t)result <= message->msg_iov[0].iov_len)
    result = received(fd, message->msg_iov[0].iov_base, result, flags);
  return result;
}

/* A program built with _FORTIFY_SOURCE calls these for recv() and recvfrom(); libc's own
 * versions would reach the kernel without passing through the two above. */
ssize_t __recv_chk(int fd, void* data, size_t length, size_t size, int flags);
ssize_t __recv_chk(int fd, void* data, size_t length, size_t size, int flags) {
  return received(fd, data, real___recv_chk()(fd, data, length, size, recv_flags(fd, flags)),
                  flags);
}

ssize_t __recvfrom_chk(int fd, void* data, size_t length, size_t size, int flags,
                       __SOCKADDR_ARG from, socklen_t* from_length);
ssize_t __recvfrom_chk(int fd, void* data, size_t length, size_t size, int flags,
                       __SOCKADDR_ARG from, socklen_t* from_length) {
  return received(
      fd, data,
      real___recvfrom_chk()(fd, data, length, size, recv_flags(fd, flags), from, from_length),
      flags);
}

int bind(int fd, __CONST_SOCKADDR_ARG address, socklen_t length) {
  const int result = real_bind()(fd, address, length);
  if (result < 0 && deviation == kBindErrno && errno == bind_from && unix_socket_type(fd))
    errno = bind_to;
  return result;
}

/* --- choosing the deviation ------------------------------------------------------------- */

static int errno_named(const char* name, size_t length, int* value) {
  for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; ++i)
    if (strlen(errnos[i].name) == length && strncmp(errnos[i].name, name, length) == 0) {
      *value = errnos[i].value;
      return 1;
    }
  return 0;
}

/* --- ignore-sa-restart: the handler is installed, its SA_RESTART is not ------------------- */

int sigaction(int sig, const struct sigaction* action, struct sigaction* old) {
  if (deviation != kIgnoreSaRestart || !action || !(action->sa_flags & SA_RESTART))
    return real_sigaction()(sig, action, old);
  struct sigaction without = *action;
  without.sa_flags &= ~SA_RESTART;
  return real_sigaction()(sig, &without, old);
}

/* bind-errno:FROM:TO, both errno names from the table above. */
static int parse_bind_errno(const char* text) {
  static const char prefix[] = "bind-errno:";
  if (strncmp(text, prefix, sizeof prefix - 1) != 0) return 0;
  const char* from = text + sizeof prefix - 1;
  const char* colon = strchr(from, ':');
  if (!colon) return 0;
  return errno_named(from, (size_t)(colon - from), &bind_from) &&
         errno_named(colon + 1, strlen(colon + 1), &bind_to);
}

__attribute__((constructor)) static void choose_deviation(void) {
  static const struct {
    const char* name;
    enum deviation value;
  } simple[] = {{"reorder-stream", kReorderStream},
                {"ignore-dontwait", kIgnoreDontwait},
                {"epipe-as-econnreset", kEpipeAsEconnreset},
                {"ignore-nosignal", kIgnoreNosignal},
                {"drop-byte", kDropByte},
                {"leak-received-fd", kLeakReceivedFd},
                {"ignore-sa-restart", kIgnoreSaRestart}};
  const char* value = getenv("SHIM_DEVIATION");
  if (value) {
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; ++i)
      if (strcmp(value, simple[i].name) == 0) {
        deviation = simple[i].value;
        return;
      }
    if (parse_bind_errno(value)) {
      deviation = kBindErrno;
      return;
    }
  }
  /* stdio writes through libc's internal write(), not the one above. */
  if (value)
    fprintf(stderr, "libsockspec-deviations: SHIM_DEVIATION='%s' is not a deviation;", value);
  else
    fprintf(stderr, "libsockspec-deviations: SHIM_DEVIATION is not set;");
  fprintf(stderr,
          " the deviations are reorder-stream, ignore-dontwait, epipe-as-econnreset, "
          "ignore-nosignal, drop-byte, leak-received-fd, ignore-sa-restart, bind-errno:FROM:TO "
          "(FROM, TO among");
  for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; ++i)
    fprintf(stderr, " %s", errnos[i].name);
  fprintf(stderr, ")\n");
  _exit(2);
}
