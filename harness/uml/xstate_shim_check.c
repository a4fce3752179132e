/* sockspec-uml-xstate-check: what libsockspec-uml-xstate.so changes, shown on any x86 host.
 *
 * A traced child stops. Its XSAVE area is read and written back with a buffer shorter than
 * the host's area, as User-mode Linux up to 6.12 does (its 2696 bytes where the host's area
 * is larger, as with AMX; elsewhere the host's size less 8 bytes, which cuts its last
 * component). The host refuses such a PTRACE_SETREGSET(NT_X86_XSTATE) with EFAULT
 * (xstateregs_set(): "A whole standard-format XSAVE buffer is needed"); under the shim it
 * succeeds, and the child's XMM0, changed in the short buffer, reads back changed.
 *
 *   sockspec-uml-xstate-check --expect efault   (run without the shim)
 *   sockspec-uml-xstate-check --expect ok       (run with LD_PRELOAD=libsockspec-uml-xstate.so)
 *
 * Exit status 0 when the host did what was expected, 1 when not, 2 for bad usage or a host
 * where the check cannot run (no XSAVE, no ptrace); one line on stdout says what happened.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kUmlXstateBytes = 2696, kXmm0Offset = 160, kWholeBuffer = 65536 };

static unsigned host_xsave_bytes(void) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx)) return 0;
  return ebx;
}

static int cannot_run(const char* what) {
  printf("the check cannot run here: %s: %s\n", what, strerror(errno));
  return 2;
}

int main(int argc, char** argv) {
  if (argc != 3 || strcmp(argv[1], "--expect") != 0 ||
      (strcmp(argv[2], "efault") != 0 && strcmp(argv[2], "ok") != 0)) {
    fprintf(stderr, "usage: %s --expect efault|ok\n", argv[0]);
    return 2;
  }
  const int expect_ok = strcmp(argv[2], "ok") == 0;
  const unsigned host = host_xsave_bytes();
  if (host < 1024) {
    printf("the check cannot run here: the CPU has no XSAVE area beyond AVX (%u bytes)\n", host);
    return 2;
  }
  const unsigned length = host > kUmlXstateBytes ? kUmlXstateBytes : host - 8;

  const pid_t child = fork();
  if (child < 0) return cannot_run("fork");
  if (child == 0) {
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) _exit(2);
    raise(SIGSTOP);
    _exit(0);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) {
    kill(child, SIGKILL);
    return cannot_run("the traced child did not stop");
  }

  static unsigned char area[kWholeBuffer];
  struct iovec short_buffer = {area, length};
  int result = 2;
  if (ptrace(PTRACE_GETREGSET, child, (void*)NT_X86_XSTATE, &short_buffer) != 0) {
    result = cannot_run("PTRACE_GETREGSET");
  } else {
    memset(area + kXmm0Offset, 0x5a, 16);
    short_buffer.iov_len = length;
    const long set = ptrace(PTRACE_SETREGSET, child, (void*)NT_X86_XSTATE, &short_buffer);
    const int set_errno = errno;
    unsigned char whole[kWholeBuffer];
    struct iovec whole_buffer = {whole, sizeof whole};
    const int kept = set == 0 &&
                     ptrace(PTRACE_GETREGSET, child, (void*)NT_X86_XSTATE, &whole_buffer) == 0 &&
                     memcmp(whole + kXmm0Offset, area + kXmm0Offset, 16) == 0;
    if (set != 0)
      printf("PTRACE_SETREGSET(NT_X86_XSTATE) with %u bytes (the host's area is %u): -1 %s\n",
             length, host, set_errno == EFAULT ? "EFAULT" : strerror(set_errno));
    else
      printf(
          "PTRACE_SETREGSET(NT_X86_XSTATE) with %u bytes (the host's area is %u): 0, and "
          "XMM0 %s\n",
          length, host, kept ? "reads back as written" : "does NOT read back as written");
    if (expect_ok)
      result = set == 0 && kept ? 0 : 1;
    else
      result = set != 0 && set_errno == EFAULT ? 0 : 1;
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  return result;
}
