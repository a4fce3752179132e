/* sockspec-actor: one actor of a scripted case, as a C program, so that the calls a script
 * makes can go through a libc other than the one sockspec is built with (musl: the `musl`
 * target builds this file with musl-gcc; C++ cannot be, Debian has no libstdc++ for musl).
 *
 * The interpreter (harness/script/interpreter.cc) forks the actor and execs this program
 * with the actor's channel: two pipe fds, above 500. It then sends one message per line:
 *
 *   "call"  the line, resolved: first line the call's name, then one line per item
 *             result NAME      a variable the call's fd (or socketpair's two fds) is bound to
 *             rights NAME      a variable a received SCM_RIGHTS fd is bound to
 *             int N | fd NAME | bytes HEX | addr HEX LEN | sendrights NAME... | creds
 *   "fork"  the name of the actor the child becomes (its channel is on the command line)
 *   "end"   the case is over
 *
 * and gets back "result" with a JSON object (value, err, data, address, ...; the same the
 * C++ actor sends) or "error" with a line saying what was wrong. A message is a frame:
 * uint32 tag length, uint32 payload length (host order), the tag, the payload.
 *
 * usage: sockspec-actor NAME IN_FD OUT_FD [NAME:IN_FD:OUT_FD ...for forked actors]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { kMaxVariables = 64, kMaxRights = 16, kMaxChannels = 32, kMaxItems = 16 };

struct variable {
  char name[64];
  int fd;
};
static struct variable variables[kMaxVariables];
static int variable_count;

struct channel {
  char name[64];
  int in, out;
};
static struct channel channels[kMaxChannels];
static int channel_count;
static struct channel me;

/* --- the channel ------------------------------------------------------------------ */

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

static void send_message(const char* tag, const char* payload, size_t payload_length) {
  uint32_t header[2] = {(uint32_t)strlen(tag), (uint32_t)payload_length};
  write_all(me.out, (const char*)header, sizeof header);
  write_all(me.out, tag, header[0]);
  write_all(me.out, payload, payload_length);
}

/* The next message; its tag and payload are malloc'd and NUL-terminated. */
static int receive_message(char** tag, char** payload) {
  uint32_t header[2];
  if (read_all(me.in, (char*)header, sizeof header) != 0) return -1;
  *tag = calloc(header[0] + 1, 1);
  *payload = calloc(header[1] + 1, 1);
  if (!*tag || !*payload) _exit(4);
  if (read_all(me.in, *tag, header[0]) != 0 || read_all(me.in, *payload, header[1]) != 0) return -1;
  return 0;
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
  char* data;
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
};

static void send_outcome(const struct outcome* o) {
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
  append(&r, "}");
  send_message("result", r.text, r.length);
  free(r.text);
}

static void send_error(const char* text) {
  send_message("error", text, strlen(text));
}

/* --- the call ------------------------------------------------------------------- */

enum item_kind { kInt, kFd, kBytes, kAddr, kSendRights, kCreds };
struct item {
  enum item_kind kind;
  long integer;
  char* bytes; /* kBytes: the bytes; kAddr: the whole sockaddr */
  size_t length;
  int rights[kMaxRights];
  int right_count;
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

static int lookup(const char* name, int* fd) {
  for (int i = 0; i < variable_count; ++i)
    if (strcmp(variables[i].name, name) == 0) return *fd = variables[i].fd, 0;
  return -1;
}

static void set_variable(const char* name, int fd) {
  for (int i = 0; i < variable_count; ++i)
    if (strcmp(variables[i].name, name) == 0) {
      variables[i].fd = fd;
      return;
    }
  if (variable_count == kMaxVariables) _exit(4);
  snprintf(variables[variable_count].name, sizeof variables[0].name, "%s", name);
  variables[variable_count++].fd = fd;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static size_t from_hex(const char* hex, size_t hex_length, char* out) {
  size_t n = 0;
  for (size_t i = 0; i + 1 < hex_length; i += 2) {
    const int high = hex_digit(hex[i]), low = hex_digit(hex[i + 1]);
    if (high < 0 || low < 0) break;
    out[n++] = (char)(high * 16 + low);
  }
  return n;
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
    const char* after = strchr(line, ' ') ? strchr(line, ' ') + 1 : "";
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
    if (strcmp(word, "int") == 0) {
      it->kind = kInt;
      it->integer = strtol(after, NULL, 10);
    } else if (strcmp(word, "fd") == 0) {
      int fd;
      if (lookup(rest, &fd) != 0)
        return snprintf(why, why_size, "%s is not an fd this actor holds", rest), -1;
      it->kind = kFd;
      it->integer = fd;
    } else if (strcmp(word, "bytes") == 0 || strcmp(word, "addr") == 0) {
      /* "bytes HEX" or "addr HEX LEN"; HEX may be empty (zero bytes). */
      it->kind = word[0] == 'b' ? kBytes : kAddr;
      const char* space = strchr(after, ' ');
      const size_t hex_length = space ? (size_t)(space - after) : strlen(after);
      it->bytes = calloc(sizeof(struct sockaddr_storage) + hex_length / 2 + 1, 1);
      if (!it->bytes) _exit(4);
      it->length = from_hex(after, hex_length, it->bytes);
      if (it->kind == kAddr) it->length = space ? strtoul(space + 1, NULL, 10) : 0;
    } else if (strcmp(word, "sendrights") == 0) {
      it->kind = kSendRights;
      char* names = strdup(after);
      char* inner = NULL;
      for (char* name = strtok_r(names, " ", &inner); name && it->right_count < kMaxRights;
           name = strtok_r(NULL, " ", &inner)) {
        if (lookup(name, &it->rights[it->right_count]) != 0) {
          snprintf(why, why_size, "%s is not an fd this actor holds", name);
          free(names);
          return -1;
        }
        ++it->right_count;
      }
      free(names);
    } else if (strcmp(word, "creds") == 0) {
      it->kind = kCreds;
    } else {
      return snprintf(why, why_size, "unknown request item '%s'", word), -1;
    }
  }
  return 0;
}

static const struct sockaddr* addr_of(const struct item* it) {
  return (const struct sockaddr*)it->bytes;
}

static void received(struct outcome* o, char* buffer, ssize_t n, size_t length, int min) {
  if (n >= min) {
    o->has_data = 1;
    o->data = buffer;
    o->data_length = (size_t)n < length ? (size_t)n : length;
  }
}

/* Runs the call; the outcome's `data` points into `buffer`. */
static int execute(const struct request* q, struct outcome* o, char** buffer, char* why,
                   size_t why_size) {
  const struct item* a = q->items;
  const char* c = q->call;
  memset(o, 0, sizeof *o);
  long rc = 0;
  socklen_t length = sizeof o->address;
  struct sockaddr* address = (struct sockaddr*)&o->address;
  size_t size = q->item_count > 1 ? (size_t)a[1].integer : 0;
  if (strcmp(c, "recv") == 0 || strcmp(c, "recvfrom") == 0 || strcmp(c, "recvmsg") == 0 ||
      strcmp(c, "read") == 0) {
    *buffer = calloc(size + 1, 1);
    if (!*buffer) _exit(4);
  }
  errno = 0;
  if (strcmp(c, "socket") == 0) {
    rc = socket((int)a[0].integer, (int)a[1].integer, (int)a[2].integer);
  } else if (strcmp(c, "socketpair") == 0) {
    int sv[2] = {-1, -1};
    rc = socketpair((int)a[0].integer, (int)a[1].integer, (int)a[2].integer, sv);
    if (rc == 0) o->fds[0] = sv[0], o->fds[1] = sv[1], o->fd_count = 2;
  } else if (strcmp(c, "bind") == 0) {
    rc = bind((int)a[0].integer, addr_of(&a[1]), (socklen_t)a[1].length);
  } else if (strcmp(c, "connect") == 0) {
    rc = connect((int)a[0].integer, addr_of(&a[1]), (socklen_t)a[1].length);
  } else if (strcmp(c, "listen") == 0) {
    rc = listen((int)a[0].integer, (int)a[1].integer);
  } else if (strcmp(c, "accept") == 0 || strcmp(c, "accept4") == 0) {
    rc = c[6] ? accept4((int)a[0].integer, address, &length, (int)a[1].integer)
              : accept((int)a[0].integer, address, &length);
    if (rc >= 0) o->has_address = 1, o->address_length = length;
  } else if (strcmp(c, "send") == 0) {
    rc = send((int)a[0].integer, a[1].bytes, a[1].length, (int)a[2].integer);
  } else if (strcmp(c, "sendto") == 0) {
    rc = sendto((int)a[0].integer, a[1].bytes, a[1].length, (int)a[2].integer, addr_of(&a[3]),
                (socklen_t)a[3].length);
  } else if (strcmp(c, "sendmsg") == 0) {
    struct iovec iov = {a[1].bytes, a[1].length};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    union {
      char bytes[CMSG_SPACE(sizeof(int) * kMaxRights) + CMSG_SPACE(sizeof(struct ucred))];
      struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    int rights[kMaxRights], right_count = 0, credentials = 0;
    for (int i = 3; i < q->item_count; ++i) {
      for (int k = 0; k < a[i].right_count && right_count < kMaxRights; ++k)
        rights[right_count++] = a[i].rights[k];
      credentials |= a[i].kind == kCreds;
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
    rc = sendmsg((int)a[0].integer, &msg, (int)a[2].integer);
  } else if (strcmp(c, "recv") == 0) {
    rc = recv((int)a[0].integer, *buffer, size, (int)a[2].integer);
    received(o, *buffer, rc, size, 1);
  } else if (strcmp(c, "read") == 0) {
    rc = read((int)a[0].integer, *buffer, size);
    received(o, *buffer, rc, size, 1);
  } else if (strcmp(c, "recvfrom") == 0) {
    rc = recvfrom((int)a[0].integer, *buffer, size, (int)a[2].integer, address, &length);
    received(o, *buffer, rc, size, 0);
    if (rc >= 0) o->has_address = 1, o->address_length = length;
  } else if (strcmp(c, "recvmsg") == 0) {
    struct iovec iov = {*buffer, size};
    union {
      char bytes[CMSG_SPACE(sizeof(int) * kMaxRights) + CMSG_SPACE(sizeof(struct ucred))];
      struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {0};
    msg.msg_name = address;
    msg.msg_namelen = sizeof o->address;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    if (q->item_count > 3 && (size_t)a[3].integer < sizeof control.bytes)
      msg.msg_controllen = (__typeof__(msg.msg_controllen))a[3].integer;
    rc = recvmsg((int)a[0].integer, &msg, (int)a[2].integer);
    if (rc >= 0) {
      received(o, *buffer, rc, size, 0);
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
    }
  } else if (strcmp(c, "write") == 0) {
    rc = write((int)a[0].integer, a[1].bytes, a[1].length);
  } else if (strcmp(c, "shutdown") == 0) {
    rc = shutdown((int)a[0].integer, (int)a[1].integer);
  } else if (strcmp(c, "close") == 0) {
    rc = close((int)a[0].integer);
  } else if (strcmp(c, "getsockname") == 0 || strcmp(c, "getpeername") == 0) {
    rc = c[3] == 's' ? getsockname((int)a[0].integer, address, &length)
                     : getpeername((int)a[0].integer, address, &length);
    if (rc == 0) o->has_address = 1, o->address_length = length;
  } else if (strcmp(c, "getsockopt") == 0) {
    int value = 0;
    socklen_t value_length = sizeof value;
    rc = getsockopt((int)a[0].integer, (int)a[1].integer, (int)a[2].integer, &value, &value_length);
    if (rc == 0) rc = value;
  } else if (strcmp(c, "setsockopt") == 0) {
    int value = (int)a[3].integer;
    rc = setsockopt((int)a[0].integer, (int)a[1].integer, (int)a[2].integer, &value, sizeof value);
  } else if (strcmp(c, "fcntl") == 0) {
    rc = fcntl((int)a[0].integer, (int)a[1].integer, q->item_count > 2 ? (int)a[2].integer : 0);
  } else if (strcmp(c, "ioctl") == 0) {
    int queued = 0;
    rc = ioctl((int)a[0].integer, FIONREAD, &queued);
    if (rc == 0) rc = queued;
  } else if (strcmp(c, "poll") == 0) {
    struct pollfd pfd = {(int)a[0].integer, (short)a[1].integer, 0};
    rc = poll(&pfd, 1, (int)a[2].integer);
    o->revents = pfd.revents;
  } else if (strcmp(c, "signal") == 0) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = a[1].integer == 1 ? SIG_IGN : SIG_DFL;
    rc = sigaction((int)a[0].integer, &action, NULL);
  } else if (strcmp(c, "sigprocmask") == 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, (int)a[1].integer);
    rc = sigprocmask((int)a[0].integer, &set, NULL);
  } else if (strcmp(c, "sigpending") == 0) {
    sigset_t set;
    sigemptyset(&set);
    rc = sigpending(&set);
    if (rc == 0)
      for (int s = 1; s < 64; ++s)
        if (sigismember(&set, s) == 1) rc |= 1L << (s - 1);
  } else {
    snprintf(why, why_size, "sockspec-actor cannot make the call %s", c);
    return -1;
  }
  o->value = rc;
  o->err = rc == -1 ? errno : 0;
  return 0;
}

/* Names the fds the call produced, as the request says. */
static void bind_results(const struct request* q, const struct outcome* o) {
  if (o->value == -1) return;
  if (q->result_count == 2 && o->fd_count == 2) {
    set_variable(q->results[0], o->fds[0]);
    set_variable(q->results[1], o->fds[1]);
  } else if (q->result_count == 1) {
    set_variable(q->results[0], (int)o->value);
  }
  for (int i = 0; i < q->rights_count && i < o->fd_count; ++i)
    set_variable(q->rights[i], o->fds[i]);
}

static void become(const char* name) {
  for (int i = 0; i < channel_count; ++i)
    if (strcmp(channels[i].name, name) == 0) {
      close(me.in), close(me.out);
      me = channels[i];
      channels[i].in = channels[i].out = -1;
      prctl(PR_SET_NAME, name);
      return;
    }
  _exit(5);
}

static void run(void) {
  for (;;) {
    char *tag = NULL, *payload = NULL;
    if (receive_message(&tag, &payload) != 0 || strcmp(tag, "end") == 0) _exit(0);
    if (strcmp(tag, "fork") == 0) {
      fflush(NULL);
      pid_t child = fork();
      if (child == 0) {
        become(payload);
        free(tag), free(payload);
        continue;
      }
      char text[96];
      int n = snprintf(text, sizeof text, "{\"value\":%d,\"err\":%d}", (int)child,
                       child < 0 ? errno : 0);
      send_message("result", text, (size_t)n);
    } else if (strcmp(tag, "call") == 0) {
      struct request q;
      struct outcome o;
      char why[256] = "";
      char* buffer = NULL;
      if (parse_request(payload, &q, why, sizeof why) != 0 ||
          execute(&q, &o, &buffer, why, sizeof why) != 0) {
        send_error(why);
      } else {
        bind_results(&q, &o);
        send_outcome(&o);
      }
      for (int i = 0; i < q.item_count; ++i) free(q.items[i].bytes);
      free(buffer);
    } else {
      send_error("sockspec-actor: unknown message");
    }
    free(tag), free(payload);
  }
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s NAME IN_FD OUT_FD [NAME:IN_FD:OUT_FD...]\n", argv[0]);
    return 2;
  }
  snprintf(me.name, sizeof me.name, "%s", argv[1]);
  me.in = atoi(argv[2]);
  me.out = atoi(argv[3]);
  for (int i = 4; i < argc && channel_count < kMaxChannels; ++i) {
    struct channel* ch = &channels[channel_count];
    if (sscanf(argv[i], "%63[^:]:%d:%d", ch->name, &ch->in, &ch->out) == 3) ++channel_count;
  }
  run();
  return 0;
}
