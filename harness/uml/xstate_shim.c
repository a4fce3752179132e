/* libsockspec-uml-xstate: an LD_PRELOAD library under User-mode Linux up to 6.12 that lets it
 * run on a host whose XSAVE area is larger than UML expects (Intel CPUs with AMX).
 *
 * UML keeps each guest process's FPU state in a buffer of a fixed 2696 bytes (x87, SSE, AVX,
 * AVX-512 and PKRU: commit 6f602afda727, 2019) and moves it with PTRACE_GETREGSET and
 * PTRACE_SETREGSET(NT_X86_XSTATE). Since Linux 5.16 the host's xstateregs_set() refuses a
 * SETREGSET whose buffer is not the whole XSAVE area (EFAULT); with AMX that area is 11008
 * bytes (TILECFG at 2752, TILEDATA at 2816). UML then prints "ptrace set fp regs failed,
 * errno = 14", kills its first process and panics: "Attempted to kill init!". Linux 6.13
 * sizes the buffer from the host instead (3f17fed21491, "um: switch to regset API and
 * depend on XSTATE").
 *
 * The shim stands between UML and the host for those two requests only, with a buffer of
 * the host's size: a GET reads the whole area and gives UML its part; a SET sends UML's part
 * with every component past UML's end in its initial state (its bytes zero, its XSTATE_BV
 * bit clear). A guest never uses those components: AMX needs a permission
 * (ARCH_REQ_XCOMP_PERM) that UML's host processes never ask for, so their initial state is
 * their true state. Every other call, and every call on a host whose area fits UML's
 * buffer, goes to the C library untouched.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(enum __ptrace_request, ...);

static ptrace_fn real_ptrace(void) {
  static ptrace_fn fn;
  if (!fn) {
    void* symbol = dlsym(RTLD_NEXT, "ptrace");
    if (!symbol) abort();
    memcpy(&fn, &symbol, sizeof fn);
  }
  return fn;
}

/* The XSAVE area, standard format: the legacy region (x87, SSE) is 512 bytes, then the
 * header, whose first 8 bytes are XSTATE_BV (which components hold a state other than their
 * initial one); CPUID leaf 0xD sub-leaf 0 gives the size of the area for the components the
 * host kernel enabled, sub-leaf i the size and offset of component i. */
enum { kLegacyRegion = 512, kHeaderSize = 64 };

static size_t host_xsave_size(void) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx)) return 0;
  return ebx;
}

/* XSTATE_BV without the components that do not fit in the first `length` bytes. */
static uint64_t components_within(uint64_t xstate_bv, size_t length) {
  for (unsigned i = 2; i < 64; ++i) {
    if (!(xstate_bv & (1ull << i))) continue;
    unsigned size = 0, offset = 0, ecx = 0, edx = 0;
    __cpuid_count(0xd, i, size, offset, ecx, edx);
    if ((size_t)offset + size > length) xstate_bv &= ~(1ull << i);
  }
  return xstate_bv;
}

static long xstate_request(enum __ptrace_request request, pid_t pid, void* addr,
                           struct iovec* theirs, size_t host_size) {
  unsigned char* area = calloc(1, host_size);
  if (!area) return real_ptrace()(request, pid, addr, theirs);
  struct iovec whole = {area, host_size};
  long result;
  if (request == PTRACE_GETREGSET) {
    result = real_ptrace()(request, pid, addr, &whole);
    if (result == 0) {
      if (whole.iov_len < theirs->iov_len) theirs->iov_len = whole.iov_len;
      memcpy(theirs->iov_base, area, theirs->iov_len);
    }
  } else {
    memcpy(area, theirs->iov_base, theirs->iov_len);
    if (theirs->iov_len >= kLegacyRegion + kHeaderSize) {
      uint64_t xstate_bv;
      memcpy(&xstate_bv, area + kLegacyRegion, sizeof xstate_bv);
      xstate_bv = components_within(xstate_bv, theirs->iov_len);
      memcpy(area + kLegacyRegion, &xstate_bv, sizeof xstate_bv);
    }
    result = real_ptrace()(request, pid, addr, &whole);
  }
  free(area);
  return result;
}

long ptrace(enum __ptrace_request request, ...) {
  va_list arguments;
  va_start(arguments, request);
  pid_t pid = va_arg(arguments, pid_t);
  void* addr = va_arg(arguments, void*);
  void* data = va_arg(arguments, void*);
  va_end(arguments);
  if ((request == PTRACE_GETREGSET || request == PTRACE_SETREGSET) &&
      (uintptr_t)addr == NT_X86_XSTATE && data) {
    struct iovec* theirs = data;
    const size_t host_size = host_xsave_size();
    if (host_size > theirs->iov_len) return xstate_request(request, pid, addr, theirs, host_size);
  }
  return real_ptrace()(request, pid, addr, data);
}
