/* sockspec-actor: one actor of a scripted case. It makes the calls the interpreter sends, and
 * sends back what they returned. It is a C program so that the calls can go through any libc:
 * built with glibc it is every scripted case's actor; the `musl` target builds the same file
 * with musl-gcc (Debian has no C++ standard library for musl).
 *
 * The interpreter (harness/script/interpreter.cc) starts it with its channel, two pipe fds
 * above 500, and the channels of the actors it will fork or start as threads. It then sends
 * one message per line:
 *
 *   "call"     the line resolved (harness/script/interpreter.cc, encode_request): the call's
 *              name, then "result VAR", "rights VAR" and one line per argument:
 *              fd VAR | int N | bytes HEX | path HEX | addr HEX LEN | sendrights VAR... |
 *              creds | ints N... | byteslist HEX... ("-": no bytes)
 *   "fork"     NAME: fork; the child becomes actor NAME (its channel is on the command line)
 *              and says it is ready on its own channel
 *   "thread"   NAME: a new thread becomes actor NAME, sharing this process's fds
 *   "as"       "UID GID": setgroups(), setgid(), setuid() from now on
 *   "limit"    "RESOURCE N": setrlimit(), soft and hard
 *   "unshare"  a new network namespace (with a user namespace when not root)
 *   "landlock" "abstract": a Landlock domain that reaches no abstract socket outside it
 *   "fds"      which fds its names hold (a faulted run's leak check)
 *   "end"      the case is over
 *
 * and gets back "result" with a JSON object (value, err, data, address, fds, events, ...) or
 * "error" with a line saying what was wrong. A message is a frame: uint32 tag length, uint32
 * payload length (host order), the tag, the payload.
 *
 * A call is one entry of `calls` below, and one function: what the interpreter's call table
 * (harness/script/calls.cc) describes, this file makes.
 *
 * usage: sockspec-actor NAME IN_FD OUT_FD [NAME:IN_FD:OUT_FD ...for later actors]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

enum {
  kMaxVariables = 128,
  kMaxRights = 16, /* the parser refuses more (kMaxRightsPerMessage in parser.cc) */
  kMaxChannels = 32,
  kMaxItems = 16,
  kMaxList = 64,
  kMaxEvents = 64
};

/* --- variables: the actor's fds, by name (threads share them) --------------------- */

struct variable {
  char name[64];
  int fd;
};
static struct variable variables[kMaxVariables];
static int variable_count;
static pthread_mutex_t variables_lock = PTHREAD_MUTEX_INITIALIZER;

static int lookup(const char* name, int* fd) {
  int found = -1;
  pthread_mutex_lock(&variables_lock);
  for (int i = 0; i < variable_count; ++i)
    if (strcmp(variables[i].name, name) == 0) {
      *fd = variables[i].fd;
      found = 0;
      break;
    }
  pthread_mutex_unlock(&variables_lock);
  return found;
}

/* The name of a variable holding `fd`, or NULL. */
static const char* name_of(int fd) {
  const char* name = NULL;
  pthread_mutex_lock(&variables_lock);
  for (int i = variable_count - 1; i >= 0 && !name; --i)
    if (variables[i].fd == fd) name = variables[i].name;
  pthread_mutex_unlock(&variables_lock);
  return name;
}

static void set_variable(const char* name, int fd) {
  pthread_mutex_lock(&variables_lock);
  for (int i = 0; i < variable_count; ++i)
    if (strcmp(variables[i].name, name) == 0) {
      /* A name bound again while its fd is open: the fd stays open, so it keeps a name of
       * its own ("c'"), or it would look leaked. */
      const int old = variables[i].fd;
      variables[i].fd = fd;
      if (old != fd && fcntl(old, F_GETFD) != -1 && variable_count < kMaxVariables) {
        snprintf(variables[variable_count].name, sizeof variables[0].name, "%.62s'", name);
        variables[variable_count++].fd = old;
      }
      pthread_mutex_unlock(&variables_lock);
      return;
    }
  if (variable_count == kMaxVariables) _exit(4);
  snprintf(variables[variable_count].name, sizeof variables[0].name, "%s", name);
  variables[variable_count++].fd = fd;
  pthread_mutex_unlock(&variables_lock);
}

/* --- channels --------------------------------------------------------------------- */

struct channel {
  char name[64];
  int in, out;
};
static struct channel later[kMaxChannels]; /* the channels of actors still to come */
static int later_count;

static void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(3); /* the interpreter is gone */
    p += w, n -= (size_t)w;
  }
}

static int read_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r, n -= (size_t)r;
  }
  return 0;
}

static void send_message(const struct channel* me, const char* tag, const char* payload,
                         size_t payload_length) {
  uint32_t header[2] = {(uint32_t)strlen(tag), (uint32_t)payload_length};
  char* frame = malloc(sizeof header + header[0] + payload_length);
  if (!frame) _exit(4);
  memcpy(frame, header, sizeof header);
  memcpy(frame + sizeof header, tag, header[0]);
  memcpy(frame + sizeof header + header[0], payload, payload_length);
  write_all(me->out, frame, sizeof header + header[0] + payload_length);
  free(frame);
}

/* The next message; its tag and payload are malloc'd and NUL-terminated. */
static int receive_message(const struct channel* me, char** tag, char** payload) {
  uint32_t header[2];
  if (read_all(me->in, (char*)header, sizeof header) != 0) return -1;
  *tag = calloc(header[0] + 1, 1);
  *payload = calloc(header[1] + 1, 1);
  if (!*tag || !*payload) _exit(4);
  if (read_all(me->in, *tag, header[0]) != 0 || read_all(me->in, *payload, header[1]) != 0)
    return -1;
  return 0;
}

/* The channel of a later actor, taken from the list: it is that actor's alone. */
static int take_channel(const char* name, struct channel* out) {
  for (int i = 0; i < later_count; ++i)
    if (strcmp(later[i].name, name) == 0 && later[i].in >= 0) {
      *out = later[i];
      later[i].in = later[i].out = -1;
      return 0;
    }
  return -1;
}

/* --- the reply, as JSON ----------------------------------------------------------- */

struct reply {
  char* text;
  size_t length, capacity;
};

static void append(struct reply* r, const char* format, ...) __attribute__((format(printf, 2, 3)));
static void append(struct reply* r, const char* format, ...) {
  for (;;) {
    va_list args;
    va_start(args, format);
    size_t room = r->capacity - r->length;
    int n = vsnprintf(r->text + r->length, room, format, args);
    va_end(args);
    if (n < 0) _exit(4);
    if ((size_t)n < room) {
      r->length += (size_t)n;
      return;
    }
    r->capacity = (r->capacity + (size_t)n + 1) * 2;
    r->text = realloc(r->text, r->capacity);
    if (!r->text) _exit(4);
  }
}

static void append_hex(struct reply* r, const char* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) append(r, "%02x", (unsigned char)bytes[i]);
}

/* What a call gave back, before it becomes JSON. */
struct outcome {
  long value;
  int err;
  char* data; /* malloc'd */
  size_t data_length;
  int has_data;
  struct sockaddr_storage address;
  socklen_t address_length;
  int has_address;
  int msg_flags;
  int revents;
  int fds[kMaxRights];
  int fd_count;
  struct ucred credentials;
  int has_credentials;
  struct epoll_event events[kMaxEvents];
  int event_count;
  char* messages[kMaxList]; /* malloc'd */
  size_t message_lengths[kMaxList];
  int message_count;
  unsigned long bound_inodes[kMaxRights + 2]; /* of the fds bound to names, in that order */
  int bound_count;
};

static void send_outcome(const struct channel* me, const struct outcome* o) {
  struct reply r = {malloc(256), 0, 256};
  if (!r.text) _exit(4);
  append(&r, "{\"value\":%ld,\"err\":%d,\"msg_flags\":%d,\"revents\":%d,\"fds\":%d", o->value,
         o->err, o->msg_flags, o->revents, o->fd_count);
  if (o->has_data) {
    append(&r, ",\"data\":\"");
    append_hex(&r, o->data, o->data_length);
    append(&r, "\"");
  }
  if (o->has_address) {
    /* The path bytes after sun_family, as many as the kernel said (addrlen). */
    const size_t offset = offsetof(struct sockaddr_un, sun_path);
    size_t n = o->address_length > offset ? o->address_length - offset : 0;
    if (n > sizeof o->address - offset) n = sizeof o->address - offset;
    append(&r, ",\"address\":\"");
    append_hex(&r, (const char*)&o->address + offset, n);
    append(&r, "\",\"address_length\":%u", (unsigned)o->address_length);
  }
  if (o->has_credentials)
    append(&r, ",\"credentials\":[%d,%u,%u]", (int)o->credentials.pid, (unsigned)o->credentials.uid,
           (unsigned)o->credentials.gid);
  if (o->event_count > 0) {
    append(&r, ",\"events\":[");
    for (int i = 0; i < o->event_count; ++i) {
      const char* name = name_of(o->events[i].data.fd);
      append(&r, "%s[\"%s\",%u]", i ? "," : "", name ? name : "?", (unsigned)o->events[i].events);
    }
    append(&r, "]");
  }
  if (o->message_count > 0) {
    append(&r, ",\"messages\":[");
    for (int i = 0; i < o->message_count; ++i) {
      append(&r, "%s\"", i ? "," : "");
      append_hex(&r, o->messages[i], o->message_lengths[i]);
      append(&r, "\"");
    }
    append(&r, "]");
  }
  if (o->bound_count > 0) {
    append(&r, ",\"inodes\":[");
    for (int i = 0; i < o->bound_count; ++i) append(&r, "%s%lu", i ? "," : "", o->bound_inodes[i]);
    append(&r, "]");
  }
  append(&r, "}");
  send_message(me, "result", r.text, r.length);
  free(r.text);
}

static void send_error(const struct channel* me, const char* text) {
  send_message(me, "error", text, strlen(text));
}

/* A bare result: a value, or -1 and errno. */
static void send_value(const struct channel* me, long value, int err) {
  char text[96];
  int n = snprintf(text, sizeof text, "{\"value\":%ld,\"err\":%d}", value, err);
  send_message(me, "result", text, (size_t)n);
}

/* --- the request ------------------------------------------------------------------ */

enum item_kind { kInt, kFd, kBytes, kPath, kAddr, kSendRights, kCreds, kInts, kBytesList };
struct item {
  enum item_kind kind;
  long integer;
  char* bytes; /* kBytes, kPath (NUL-terminated), kAddr: the whole sockaddr */
  size_t length;
  int rights[kMaxRights];
  int right_count;
  long integers[kMaxList];
  char* list[kMaxList]; /* kBytesList */
  size_t list_lengths[kMaxList];
  int list_count;
};

struct request {
  char call[32];
  char results[2][64];
  int result_count;
  char rights[kMaxRights][64];
  int rights_count;
  struct item items[kMaxItems];
  int item_count;
};

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes hex into a new buffer (room for a sockaddr_storage and a NUL beyond). */
static char* from_hex(const char* hex, size_t hex_length, size_t* length) {
  char* out = calloc(sizeof(struct sockaddr_storage) + hex_length / 2 + 1, 1);
  if (!out) _exit(4);
  size_t n = 0;
  for (size_t i = 0; i + 1 < hex_length; i += 2) {
    const int high = hex_digit(hex[i]), low = hex_digit(hex[i + 1]);
    if (high < 0 || low < 0) break;
    out[n++] = (char)(high * 16 + low);
  }
  *length = n;
  return out;
}

/* Parses a "call" payload; on a problem writes it to `why` and returns -1. */
static int parse_request(char* text, struct request* q, char* why, size_t why_size) {
  memset(q, 0, sizeof *q);
  char* save = NULL;
  char* line = strtok_r(text, "\n", &save);
  if (!line) return snprintf(why, why_size, "empty request"), -1;
  snprintf(q->call, sizeof q->call, "%s", line);
  while ((line = strtok_r(NULL, "\n", &save))) {
    char word[16] = "", rest[64] = "";
    sscanf(line, "%15s %63s", word, rest);
    char* after = strchr(line, ' ') ? strchr(line, ' ') + 1 : line + strlen(line);
    if (strcmp(word, "result") == 0 && q->result_count < 2) {
      snprintf(q->results[q->result_count++], 64, "%s", rest);
      continue;
    }
    if (strcmp(word, "rights") == 0 && q->rights_count < kMaxRights) {
      snprintf(q->rights[q->rights_count++], 64, "%s", rest);
      continue;
    }
    if (q->item_count == kMaxItems) return snprintf(why, why_size, "too many arguments"), -1;
    struct item* it = &q->items[q->item_count++];
    char* inner = NULL;
    if (strcmp(word, "int") == 0) {
      it->kind = kInt;
      it->integer = strtol(after, NULL, 10);
    } else if (strcmp(word, "fd") == 0) {
      int fd;
      if (lookup(rest, &fd) != 0)
        return snprintf(why, why_size, "%s is not an fd this actor holds", rest), -1;
      it->kind = kFd;
      it->integer = fd;
    } else if (strcmp(word, "bytes") == 0 || strcmp(word, "path") == 0 ||
               strcmp(word, "addr") == 0) {
      /* "bytes HEX", "path HEX" or "addr HEX LEN"; HEX may be empty (zero bytes). */
      it->kind = word[0] == 'b' ? kBytes : word[0] == 'p' ? kPath : kAddr;
      const char* space = strchr(after, ' ');
      const size_t hex_length = space ? (size_t)(space - after) : strlen(after);
      it->bytes = from_hex(after, hex_length, &it->length);
      if (it->kind == kAddr) it->length = space ? strtoul(space + 1, NULL, 10) : 0;
    } else if (strcmp(word, "sendrights") == 0) {
      it->kind = kSendRights;
      for (char* name = strtok_r(after, " ", &inner); name && it->right_count < kMaxRights;
           name = strtok_r(NULL, " ", &inner)) {
        if (lookup(name, &it->rights[it->right_count]) != 0)
          return snprintf(why, why_size, "%s is not an fd this actor holds", name), -1;
        ++it->right_count;
      }
    } else if (strcmp(word, "creds") == 0) {
      it->kind = kCreds;
    } else if (strcmp(word, "ints") == 0) {
      it->kind = kInts;
      for (char* n = strtok_r(after, " ", &inner); n && it->list_count < kMaxList;
           n = strtok_r(NULL, " ", &inner))
        it->integers[it->list_count++] = strtol(n, NULL, 10);
    } else if (strcmp(word, "byteslist") == 0) {
      it->kind = kBytesList;
      for (char* hex = strtok_r(after, " ", &inner); hex && it->list_count < kMaxList;
           hex = strtok_r(NULL, " ", &inner)) {
        const size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
        it->list[it->list_count] = from_hex(hex, n, &it->list_lengths[it->list_count]);
        ++it->list_count;
      }
    } else {
      return snprintf(why, why_size, "unknown request item '%s'", word), -1;
    }
  }
  return 0;
}

static void free_request(struct request* q) {
  for (int i = 0; i < q->item_count; ++i) {
    free(q->items[i].bytes);
    if (q->items[i].kind == kBytesList)
      for (int k = 0; k < q->items[i].list_count; ++k) free(q->items[i].list[k]);
  }
}

/* --- the calls -------------------------------------------------------------------- */

/* Arguments by position. */
#define FD(i) ((int)q->items[i].integer)
#define INT(i) ((int)q->items[i].integer)
#define LONG(i) (q->items[i].integer)
#define ADDR(i) ((const struct sockaddr*)q->items[i].bytes)
#define ADDRLEN(i) ((socklen_t)q->items[i].length)
#define HAS(i) (q->item_count > (i))

/* The outcome's data: a new buffer of `size` bytes, of which the call fills what it says. */
static char* buffer_for(struct outcome* o, size_t size) {
  o->data = calloc(size + 1, 1);
  if (!o->data) _exit(4);
  return o->data;
}

/* A receive returned `n`: keep that many bytes (as many as fit) when it did not fail. */
static long received(struct outcome* o, long n, size_t size) {
  if (n >= 0) {
    o->has_data = 1;
    o->data_length = (size_t)n < size ? (size_t)n : size;
  }
  return n;
}

static long call_socket(const struct request* q, struct outcome* o) {
  (void)o;
  return socket(INT(0), INT(1), INT(2));
}

static long call_socketpair(const struct request* q, struct outcome* o) {
  int sv[2] = {-1, -1};
  const long rc = socketpair(INT(0), INT(1), INT(2), sv);
  if (rc == 0) o->fds[0] = sv[0], o->fds[1] = sv[1], o->fd_count = 2;
  return rc;
}

static long call_bind(const struct request* q, struct outcome* o) {
  (void)o;
  return bind(FD(0), ADDR(1), ADDRLEN(1));
}

static long call_listen(const struct request* q, struct outcome* o) {
  (void)o;
  return listen(FD(0), INT(1));
}

static long call_accept(const struct request* q, struct outcome* o) {
  socklen_t length = sizeof o->address;
  const long rc = strcmp(q->call, "accept4") == 0
                      ? accept4(FD(0), (struct sockaddr*)&o->address, &length, INT(1))
                      : accept(FD(0), (struct sockaddr*)&o->address, &length);
  if (rc >= 0) o->has_address = 1, o->address_length = length;
  return rc;
}

static long call_connect(const struct request* q, struct outcome* o) {
  (void)o;
  return connect(FD(0), ADDR(1), ADDRLEN(1));
}

static long call_shutdown(const struct request* q, struct outcome* o) {
  (void)o;
  return shutdown(FD(0), INT(1));
}

static long call_close(const struct request* q, struct outcome* o) {
  (void)o;
  return close(FD(0));
}

static long call_getname(const struct request* q, struct outcome* o) {
  socklen_t length = sizeof o->address;
  const long rc = strcmp(q->call, "getsockname") == 0
                      ? getsockname(FD(0), (struct sockaddr*)&o->address, &length)
                      : getpeername(FD(0), (struct sockaddr*)&o->address, &length);
  if (rc == 0) o->has_address = 1, o->address_length = length;
  return rc;
}

/* getsockopt(fd, level, option, size): the value's bytes come back as data; an int option's
 * value is also the result, as scripts compare it. */
static long call_getsockopt(const struct request* q, struct outcome* o) {
  const size_t size = (size_t)LONG(3);
  socklen_t length = (socklen_t)size;
  char* value = buffer_for(o, size > sizeof(int) ? size : sizeof(int));
  const long rc = getsockopt(FD(0), INT(1), INT(2), value, &length);
  if (rc != 0) return rc;
  o->has_data = 1;
  o->data_length = length;
  int as_int = 0;
  memcpy(&as_int, value, length < sizeof as_int ? length : sizeof as_int);
  return as_int;
}

static long call_setsockopt(const struct request* q, struct outcome* o) {
  (void)o;
  return setsockopt(FD(0), INT(1), INT(2), q->items[3].bytes, (socklen_t)q->items[3].length);
}

static long call_send(const struct request* q, struct outcome* o) {
  (void)o;
  return send(FD(0), q->items[1].bytes, q->items[1].length, INT(2));
}

static long call_sendto(const struct request* q, struct outcome* o) {
  (void)o;
  return sendto(FD(0), q->items[1].bytes, q->items[1].length, INT(2), ADDR(3), ADDRLEN(3));
}

static long call_sendmsg(const struct request* q, struct outcome* o) {
  (void)o;
  struct iovec iov = {q->items[1].bytes, q->items[1].length};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  union {
    char bytes[CMSG_SPACE(sizeof(int) * kMaxRights) + CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  int rights[kMaxRights], right_count = 0, credentials = 0;
  for (int i = 3; i < q->item_count; ++i) {
    for (int k = 0; k < q->items[i].right_count && right_count < kMaxRights; ++k)
      rights[right_count++] = q->items[i].rights[k];
    credentials |= q->items[i].kind == kCreds;
  }
  size_t used = 0;
  if (right_count) used += CMSG_SPACE(sizeof(int) * (size_t)right_count);
  if (credentials) used += CMSG_SPACE(sizeof(struct ucred));
  if (used) {
    msg.msg_control = control.bytes;
    msg.msg_controllen = (__typeof__(msg.msg_controllen))used; /* musl: socklen_t */
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (right_count) {
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = (__typeof__(cmsg->cmsg_len))CMSG_LEN(sizeof(int) * (size_t)right_count);
      memcpy(CMSG_DATA(cmsg), rights, sizeof(int) * (size_t)right_count);
      cmsg = CMSG_NXTHDR(&msg, cmsg);
    }
    if (credentials) {
      struct ucred mine = {getpid(), getuid(), getgid()};
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_CREDENTIALS;
      cmsg->cmsg_len = (__typeof__(cmsg->cmsg_len))CMSG_LEN(sizeof mine);
      memcpy(CMSG_DATA(cmsg), &mine, sizeof mine);
    }
  }
  return sendmsg(FD(0), &msg, INT(2));
}

static long call_sendmmsg(const struct request* q, struct outcome* o) {
  (void)o;
  const struct item* list = &q->items[1];
  struct mmsghdr messages[kMaxList];
  struct iovec iovs[kMaxList];
  memset(messages, 0, sizeof messages);
  for (int i = 0; i < list->list_count; ++i) {
    iovs[i].iov_base = list->list[i];
    iovs[i].iov_len = list->list_lengths[i];
    messages[i].msg_hdr.msg_iov = &iovs[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  return sendmmsg(FD(0), messages, (unsigned)list->list_count, INT(2));
}

static long call_write(const struct request* q, struct outcome* o) {
  (void)o;
  return write(FD(0), q->items[1].bytes, q->items[1].length);
}

static long call_writev(const struct request* q, struct outcome* o) {
  (void)o;
  const struct item* list = &q->items[1];
  struct iovec iovs[kMaxList];
  for (int i = 0; i < list->list_count; ++i) {
    iovs[i].iov_base = list->list[i];
    iovs[i].iov_len = list->list_lengths[i];
  }
  return writev(FD(0), iovs, list->list_count);
}

static long call_pwrite(const struct request* q, struct outcome* o) {
  (void)o;
  return pwrite(FD(0), q->items[1].bytes, q->items[1].length, LONG(2));
}

static long call_recv(const struct request* q, struct outcome* o) {
  const size_t size = (size_t)LONG(1);
  const long rc = strcmp(q->call, "read") == 0 ? read(FD(0), buffer_for(o, size), size)
                                               : recv(FD(0), buffer_for(o, size), size, INT(2));
  return received(o, rc, size);
}

static long call_pread(const struct request* q, struct outcome* o) {
  const size_t size = (size_t)LONG(1);
  return received(o, pread(FD(0), buffer_for(o, size), size, LONG(2)), size);
}

static long call_recvfrom(const struct request* q, struct outcome* o) {
  const size_t size = (size_t)LONG(1);
  socklen_t length = sizeof o->address;
  const long rc =
      recvfrom(FD(0), buffer_for(o, size), size, INT(2), (struct sockaddr*)&o->address, &length);
  if (rc >= 0) o->has_address = 1, o->address_length = length;
  return received(o, rc, size);
}

static long call_recvmsg(const struct request* q, struct outcome* o) {
  const size_t size = (size_t)LONG(1);
  struct iovec iov = {buffer_for(o, size), size};
  union {
    char bytes[CMSG_SPACE(sizeof(int) * kMaxRights) + CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &o->address;
  msg.msg_namelen = sizeof o->address;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof control.bytes;
  if (HAS(3) && (size_t)LONG(3) < sizeof control.bytes)
    msg.msg_controllen = (__typeof__(msg.msg_controllen))LONG(3);
  const long rc = recvmsg(FD(0), &msg, INT(2));
  if (rc < 0) return rc;
  o->msg_flags = msg.msg_flags;
  o->has_address = 1;
  o->address_length = msg.msg_namelen;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET) continue;
    if (cmsg->cmsg_type == SCM_RIGHTS) {
      size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count && o->fd_count < kMaxRights; ++i)
        memcpy(&o->fds[o->fd_count++], CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
    } else if (cmsg->cmsg_type == SCM_CREDENTIALS) {
      memcpy(&o->credentials, CMSG_DATA(cmsg), sizeof o->credentials);
      o->has_credentials = 1;
    }
  }
  return received(o, rc, size);
}

static long call_recvmmsg(const struct request* q, struct outcome* o) {
  const struct item* lengths = &q->items[1];
  struct mmsghdr messages[kMaxList];
  struct iovec iovs[kMaxList];
  memset(messages, 0, sizeof messages);
  for (int i = 0; i < lengths->list_count; ++i) {
    o->messages[i] = calloc((size_t)lengths->integers[i] + 1, 1);
    if (!o->messages[i]) _exit(4);
    iovs[i].iov_base = o->messages[i];
    iovs[i].iov_len = (size_t)lengths->integers[i];
    messages[i].msg_hdr.msg_iov = &iovs[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  o->message_count = lengths->list_count;
  struct timespec timeout;
  if (HAS(3)) timeout.tv_sec = LONG(3) / 1000, timeout.tv_nsec = LONG(3) % 1000 * 1000000;
  const long rc =
      recvmmsg(FD(0), messages, (unsigned)lengths->list_count, INT(2), HAS(3) ? &timeout : NULL);
  o->message_count = rc > 0 ? (int)rc : 0;
  for (int i = 0; i < o->message_count; ++i) o->message_lengths[i] = messages[i].msg_len;
  return rc;
}

static long call_readv(const struct request* q, struct outcome* o) {
  const struct item* lengths = &q->items[1];
  size_t total = 0;
  for (int i = 0; i < lengths->list_count; ++i) total += (size_t)lengths->integers[i];
  char* buffer = buffer_for(o, total);
  struct iovec iovs[kMaxList];
  size_t at = 0;
  for (int i = 0; i < lengths->list_count; ++i) {
    iovs[i].iov_base = buffer + at;
    iovs[i].iov_len = (size_t)lengths->integers[i];
    at += iovs[i].iov_len;
  }
  return received(o, readv(FD(0), iovs, lengths->list_count), total);
}

static long call_poll(const struct request* q, struct outcome* o) {
  struct pollfd pfd = {FD(0), (short)INT(1), 0};
  const long rc = poll(&pfd, 1, INT(2));
  o->revents = pfd.revents;
  return rc;
}

/* select() on one fd: POLLIN asks for readfds, POLLOUT for writefds, POLLPRI for exceptfds;
 * revents says which sets it is in afterwards, in the same words. */
static long call_select(const struct request* q, struct outcome* o) {
  const int fd = FD(0), events = INT(1);
  fd_set read_set, write_set, except_set;
  FD_ZERO(&read_set);
  FD_ZERO(&write_set);
  FD_ZERO(&except_set);
  if (events & POLLIN) FD_SET(fd, &read_set);
  if (events & POLLOUT) FD_SET(fd, &write_set);
  if (events & POLLPRI) FD_SET(fd, &except_set);
  struct timeval timeout = {INT(2) / 1000, INT(2) % 1000 * 1000};
  const long rc = select(fd + 1, &read_set, &write_set, &except_set, INT(2) < 0 ? NULL : &timeout);
  if (rc >= 0)
    o->revents = (FD_ISSET(fd, &read_set) ? POLLIN : 0) | (FD_ISSET(fd, &write_set) ? POLLOUT : 0) |
                 (FD_ISSET(fd, &except_set) ? POLLPRI : 0);
  return rc;
}

static long call_epoll_create1(const struct request* q, struct outcome* o) {
  (void)o;
  return epoll_create1(INT(0));
}

static long call_epoll_ctl(const struct request* q, struct outcome* o) {
  (void)o;
  struct epoll_event event;
  memset(&event, 0, sizeof event);
  event.events = (uint32_t)INT(3);
  event.data.fd = FD(2);
  return epoll_ctl(FD(0), INT(1), FD(2), &event);
}

static long call_epoll_wait(const struct request* q, struct outcome* o) {
  const int max = INT(1) < kMaxEvents ? INT(1) : kMaxEvents;
  const long rc = epoll_wait(FD(0), o->events, max, INT(2));
  o->event_count = rc > 0 ? (int)rc : 0;
  return rc;
}

static long call_dup(const struct request* q, struct outcome* o) {
  (void)o;
  return dup(FD(0));
}

static long call_fcntl(const struct request* q, struct outcome* o) {
  (void)o;
  return fcntl(FD(0), INT(1), HAS(2) ? INT(2) : 0);
}

/* ioctl(fd, request): the int it reads (FIONREAD, TIOCOUTQ, SIOCATMARK); with a value, the
 * int it is given (FIONBIO). */
static long call_ioctl(const struct request* q, struct outcome* o) {
  (void)o;
  int value = HAS(2) ? INT(2) : 0;
#ifdef __GLIBC__
  const long rc = ioctl(FD(0), (unsigned long)LONG(1), &value);
#else /* musl: int request */
  const long rc = ioctl(FD(0), INT(1), &value);
#endif
  return rc == 0 && !HAS(2) ? value : rc;
}

static long call_fstat(const struct request* q, struct outcome* o) {
  (void)o;
  struct stat st;
  const long rc = fstat(FD(0), &st);
  return rc == 0 ? (long)st.st_mode : rc;
}

static long call_fstatfs(const struct request* q, struct outcome* o) {
  (void)o;
  struct statfs st;
  const long rc = fstatfs(FD(0), &st);
  return rc == 0 ? (long)st.f_type : rc;
}

static long call_sendfile(const struct request* q, struct outcome* o) {
  (void)o;
  return sendfile(FD(0), FD(1), NULL, (size_t)LONG(2));
}

static long call_fsync(const struct request* q, struct outcome* o) {
  (void)o;
  return fsync(FD(0));
}

static long call_stat(const struct request* q, struct outcome* o) {
  (void)o;
  struct stat st;
  const long rc = stat(q->items[0].bytes, &st);
  return rc == 0 ? (long)st.st_mode : rc;
}

static long call_open(const struct request* q, struct outcome* o) {
  (void)o;
  return open(q->items[0].bytes, INT(1), HAS(2) ? INT(2) : 0);
}

static long call_link(const struct request* q, struct outcome* o) {
  (void)o;
  return link(q->items[0].bytes, q->items[1].bytes);
}

static long call_symlink(const struct request* q, struct outcome* o) {
  (void)o;
  return symlink(q->items[0].bytes, q->items[1].bytes);
}

static long call_unlink(const struct request* q, struct outcome* o) {
  (void)o;
  return unlink(q->items[0].bytes);
}

static long call_mkdir(const struct request* q, struct outcome* o) {
  (void)o;
  return mkdir(q->items[0].bytes, (mode_t)INT(1));
}

static long call_chmod(const struct request* q, struct outcome* o) {
  (void)o;
  return chmod(q->items[0].bytes, (mode_t)INT(1));
}

static long call_chown(const struct request* q, struct outcome* o) {
  (void)o;
  return chown(q->items[0].bytes, (uid_t)LONG(1), (gid_t)LONG(2));
}

static long call_fchmod(const struct request* q, struct outcome* o) {
  (void)o;
  return fchmod(FD(0), (mode_t)INT(1));
}

static long call_fchown(const struct request* q, struct outcome* o) {
  (void)o;
  return fchown(FD(0), (uid_t)LONG(1), (gid_t)LONG(2));
}

static long call_umask(const struct request* q, struct outcome* o) {
  (void)o;
  return umask((mode_t)INT(0));
}

static void caught(int sig) {
  (void)sig;
}

/* signal(sig, handler) and sigaction(sig, handler, flags); handler 0 SIG_DFL, 1 SIG_IGN, 2 a
 * handler that returns. signal() installs the catching handler without SA_RESTART. */
static long call_sigaction(const struct request* q, struct outcome* o) {
  (void)o;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = INT(1) == 1 ? SIG_IGN : INT(1) == 2 ? caught : SIG_DFL;
  action.sa_flags = HAS(2) ? INT(2) : 0;
  return sigaction(INT(0), &action, NULL);
}

static long call_sigprocmask(const struct request* q, struct outcome* o) {
  (void)o;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, INT(1));
  const int error = pthread_sigmask(INT(0), &set, NULL);
  if (error == 0) return 0;
  errno = error;
  return -1;
}

static long call_sigpending(const struct request* q, struct outcome* o) {
  (void)q, (void)o;
  sigset_t set;
  sigemptyset(&set);
  long rc = sigpending(&set);
  if (rc == 0)
    for (int s = 1; s < 64; ++s)
      if (sigismember(&set, s) == 1) rc |= 1L << (s - 1);
  return rc;
}

typedef long (*call_function)(const struct request*, struct outcome*);
static const struct {
  const char* name;
  call_function make;
} calls[] = {
    {"socket", call_socket},
    {"socketpair", call_socketpair},
    {"bind", call_bind},
    {"listen", call_listen},
    {"accept", call_accept},
    {"accept4", call_accept},
    {"connect", call_connect},
    {"shutdown", call_shutdown},
    {"close", call_close},
    {"getsockname", call_getname},
    {"getpeername", call_getname},
    {"getsockopt", call_getsockopt},
    {"setsockopt", call_setsockopt},
    {"send", call_send},
    {"sendto", call_sendto},
    {"sendmsg", call_sendmsg},
    {"sendmmsg", call_sendmmsg},
    {"write", call_write},
    {"writev", call_writev},
    {"pwrite", call_pwrite},
    {"recv", call_recv},
    {"recvfrom", call_recvfrom},
    {"recvmsg", call_recvmsg},
    {"recvmmsg", call_recvmmsg},
    {"read", call_recv},
    {"readv", call_readv},
    {"pread", call_pread},
    {"poll", call_poll},
    {"select", call_select},
    {"epoll_create1", call_epoll_create1},
    {"epoll_ctl", call_epoll_ctl},
    {"epoll_wait", call_epoll_wait},
    {"dup", call_dup},
    {"fcntl", call_fcntl},
    {"ioctl", call_ioctl},
    {"fstat", call_fstat},
    {"fstatfs", call_fstatfs},
    {"fsync", call_fsync},
    {"sendfile", call_sendfile},
    {"stat", call_stat},
    {"open", call_open},
    {"link", call_link},
    {"symlink", call_symlink},
    {"unlink", call_unlink},
    {"mkdir", call_mkdir},
    {"chmod", call_chmod},
    {"chown", call_chown},
    {"fchmod", call_fchmod},
    {"fchown", call_fchown},
    {"umask", call_umask},
    {"signal", call_sigaction},
    {"sigaction", call_sigaction},
    {"sigprocmask", call_sigprocmask},
    {"sigpending", call_sigpending},
};

/* Binds `name` to `fd` and notes the fd's inode: the interpreter tells sockets apart by it. */
static void bind_name(struct outcome* o, const char* name, int fd) {
  struct stat st;
  set_variable(name, fd);
  o->bound_inodes[o->bound_count++] = fstat(fd, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* Names the fds the call produced, as the request says. A received fd the script gave no
 * name is closed: nothing could use it, and it would stay open unseen. */
static void bind_results(const struct request* q, struct outcome* o) {
  if (o->value == -1) return;
  if (q->result_count == 2 && o->fd_count == 2) {
    bind_name(o, q->results[0], o->fds[0]);
    bind_name(o, q->results[1], o->fds[1]);
    return;
  }
  if (q->result_count == 1) bind_name(o, q->results[0], (int)o->value);
  for (int i = 0; i < o->fd_count; ++i) {
    if (i < q->rights_count)
      bind_name(o, q->rights[i], o->fds[i]);
    else
      close(o->fds[i]);
  }
}

/* "fds": the fds the actor's names hold, open ones only, for a faulted run's check that no fd
 * is open that no name holds (a leak). */
static void send_named_fds(const struct channel* me) {
  struct reply r = {malloc(256), 0, 256};
  if (!r.text) _exit(4);
  append(&r, "{\"value\":0,\"err\":0,\"named\":[");
  int first = 1;
  pthread_mutex_lock(&variables_lock);
  for (int i = 0; i < variable_count; ++i)
    if (fcntl(variables[i].fd, F_GETFD) != -1)
      append(&r, "%s%d", first ? "" : ",", variables[i].fd), first = 0;
  pthread_mutex_unlock(&variables_lock);
  append(&r, "]}");
  send_message(me, "result", r.text, r.length);
  free(r.text);
}

static void make_call(const struct channel* me, char* payload) {
  struct request q;
  struct outcome o;
  char why[256] = "";
  memset(&o, 0, sizeof o);
  if (parse_request(payload, &q, why, sizeof why) != 0) {
    send_error(me, why);
    free_request(&q);
    return;
  }
  call_function make = NULL;
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; ++i)
    if (strcmp(calls[i].name, q.call) == 0) make = calls[i].make;
  if (!make) {
    snprintf(why, sizeof why, "sockspec-actor cannot make the call %s", q.call);
    send_error(me, why);
  } else {
    errno = 0;
    o.value = make(&q, &o);
    o.err = o.value == -1 ? errno : 0;
    bind_results(&q, &o);
    send_outcome(me, &o);
  }
  free(o.data);
  for (int i = 0; i < kMaxList; ++i) free(o.messages[i]);
  free_request(&q);
}

/* --- the environment's actions on the actor --------------------------------------- */

static int become_user(long uid, long gid) {
  if (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0) return -1;
  return 0;
}

/* setrlimit() of the soft limit, which is what the kernel enforces; the hard limit stays, so
 * a later `limit` may raise it again without privilege. With `room`, RLIMIT_NOFILE is set so
 * that exactly `limit` more fds can be opened: to the number of the free fd after those
 * `limit` (new fds take the lowest free numbers, and a number at or above the limit is
 * refused). */
static int set_limit(int resource, long limit, int room) {
  if (room) {
    long free_seen = 0, fd = 0;
    for (;; ++fd) {
      if (fcntl((int)fd, F_GETFD) != -1 || errno != EBADF) continue;
      if (free_seen++ == limit) break;
    }
    limit = fd;
  }
  struct rlimit l;
  if (getrlimit(resource, &l) != 0) return -1;
  l.rlim_cur = (rlim_t)limit;
  return setrlimit(resource, &l);
}

/* Landlock's scoped restrictions (Linux 6.12, ABI 6): a process in a domain scoped with
 * LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET cannot connect() or send to an abstract socket made
 * outside that domain. glibc and musl have no wrappers for the Landlock calls, so this piece
 * of the environment, not a call under test, is made with syscall(). The attribute struct is
 * spelled out: Debian 12's <linux/landlock.h> predates scopes. */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_restrict_self 446
#endif
struct landlock_scoped_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)

static int enter_landlock_abstract_scope(void) {
  const struct landlock_scoped_ruleset_attr attr = {0, 0, SCOPE_ABSTRACT_UNIX_SOCKET};
  const int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (ruleset < 0) return -1;
  /* Without CAP_SYS_ADMIN a process may restrict itself only under no_new_privs. */
  int rc = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (rc == 0) rc = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
  const int saved = errno;
  close(ruleset);
  errno = saved;
  return rc;
}

/* A new network namespace; without the right to make one, a new user namespace (mapping
 * this user to itself) gives it. */
static int enter_new_network_namespace(void) {
  if (unshare(CLONE_NEWNET) == 0) return 0;
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return -1;
  char map[64];
  int fd = open("/proc/self/setgroups", O_WRONLY);
  if (fd >= 0) write_all(fd, "deny", 4), close(fd);
  int n = snprintf(map, sizeof map, "%u %u 1", (unsigned)uid, (unsigned)uid);
  fd = open("/proc/self/uid_map", O_WRONLY);
  if (fd < 0) return -1;
  write_all(fd, map, (size_t)n), close(fd);
  n = snprintf(map, sizeof map, "%u %u 1", (unsigned)gid, (unsigned)gid);
  fd = open("/proc/self/gid_map", O_WRONLY);
  if (fd < 0) return -1;
  write_all(fd, map, (size_t)n), close(fd);
  return 0;
}

/* What a new thread gets: its channel; what it gives back: its id, once it runs. */
struct thread_start {
  struct channel me;
  pid_t tid;
  pthread_mutex_t lock;
  pthread_cond_t ready;
};
static void* run_thread(void* arg);

/* "actor:NAME" in ps and in hang reports, so a reader tells the script's actors apart. */
static void take_actor_name(const struct channel* me) {
  char comm[16] = "actor:"; /* the kernel keeps 15 characters of a name */
  const size_t room = sizeof comm - strlen(comm) - 1, length = strnlen(me->name, room);
  memcpy(comm + strlen(comm), me->name, length);
  comm[sizeof comm - 1 - room + length] = '\0';
  prctl(PR_SET_NAME, comm);
}

/* Serves one actor's messages until the interpreter says "end" or goes away. */
static void serve(struct channel me) {
  take_actor_name(&me);
  for (;;) {
    char *tag = NULL, *payload = NULL;
    if (receive_message(&me, &tag, &payload) != 0 || strcmp(tag, "end") == 0) _exit(0);
    if (strcmp(tag, "call") == 0) {
      make_call(&me, payload);
    } else if (strcmp(tag, "fork") == 0) {
      struct channel child;
      if (take_channel(payload, &child) != 0) {
        send_error(&me, "no channel for the forked actor");
      } else {
        fflush(NULL);
        const pid_t pid = fork();
        if (pid == 0) {
          close(me.in), close(me.out);
          me = child;
          take_actor_name(&me);
          /* Ready: the calls of its setup are behind it, so that none of them can be taken
           * for the next line's call (a fault injected into the next close()). */
          send_value(&me, 0, 0);
        } else {
          close(child.in), close(child.out);
          send_value(&me, pid, pid < 0 ? errno : 0);
        }
      }
    } else if (strcmp(tag, "thread") == 0) {
      struct thread_start* start = calloc(1, sizeof *start);
      pthread_t thread;
      if (!start || take_channel(payload, &start->me) != 0) {
        send_error(&me, "no channel for the thread");
        free(start);
      } else {
        pthread_mutex_init(&start->lock, NULL);
        pthread_cond_init(&start->ready, NULL);
        if (pthread_create(&thread, NULL, run_thread, start) != 0) {
          send_value(&me, -1, EAGAIN);
        } else {
          /* The interpreter watches the thread by its id: it is the reply. */
          pthread_mutex_lock(&start->lock);
          while (start->tid == 0) pthread_cond_wait(&start->ready, &start->lock);
          const pid_t tid = start->tid;
          pthread_mutex_unlock(&start->lock);
          pthread_cond_destroy(&start->ready);
          pthread_mutex_destroy(&start->lock);
          free(start);
          pthread_detach(thread);
          send_value(&me, tid, 0);
        }
      }
    } else if (strcmp(tag, "as") == 0) {
      long uid = 0, gid = 0;
      sscanf(payload, "%ld %ld", &uid, &gid);
      const int rc = become_user(uid, gid);
      send_value(&me, rc, rc ? errno : 0);
    } else if (strcmp(tag, "limit") == 0) {
      int resource = 0, room = 0;
      long limit = 0;
      sscanf(payload, "%d %ld %d", &resource, &limit, &room);
      const int rc = set_limit(resource, limit, room);
      send_value(&me, rc, rc ? errno : 0);
    } else if (strcmp(tag, "unshare") == 0) {
      const int rc = enter_new_network_namespace();
      send_value(&me, rc, rc ? errno : 0);
    } else if (strcmp(tag, "fds") == 0) {
      send_named_fds(&me);
    } else if (strcmp(tag, "landlock") == 0) {
      const int rc = enter_landlock_abstract_scope();
      send_value(&me, rc, rc ? errno : 0);
    } else {
      send_error(&me, "sockspec-actor: unknown message");
    }
    free(tag), free(payload);
  }
}

static void* run_thread(void* arg) {
  struct thread_start* start = arg;
  const struct channel me = start->me;
  pthread_mutex_lock(&start->lock);
  start->tid = gettid();
  pthread_cond_signal(&start->ready);
  pthread_mutex_unlock(&start->lock);
  /* From here on `start` belongs to the thread that made this one, which frees it. */
  serve(me);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s NAME IN_FD OUT_FD [NAME:IN_FD:OUT_FD...]\n", argv[0]);
    return 2;
  }
  struct channel me;
  snprintf(me.name, sizeof me.name, "%s", argv[1]);
  me.in = atoi(argv[2]);
  me.out = atoi(argv[3]);
  for (int i = 4; i < argc && later_count < kMaxChannels; ++i) {
    struct channel* ch = &later[later_count];
    if (sscanf(argv[i], "%63[^:]:%d:%d", ch->name, &ch->in, &ch->out) == 3) ++later_count;
  }
  serve(me);
  return 0;
}
