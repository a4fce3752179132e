// Socket options newer than the C library's headers (Debian 12's glibc 2.36 stops at Linux
// 6.1). The values are the kernel's, include/uapi/asm-generic/socket.h, the same on x86-64,
// arm64 and every architecture that uses the generic numbers.
#pragma once

#include <sys/socket.h>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59  // Linux 4.13
#endif
#ifndef SCM_SECURITY
#define SCM_SECURITY 0x03
#endif
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76  // Linux 6.5
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04  // Linux 6.5: the cmsg SO_PASSPIDFD asks for
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83  // Linux 6.16
#endif
#ifndef SO_INQ
#define SO_INQ 84  // Linux 6.16 on AF_UNIX (TCP has TCP_INQ)
#endif
#ifndef SCM_INQ
#define SCM_INQ SO_INQ
#endif
