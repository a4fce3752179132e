// Namespaces a peer can move into, for cases about what another view of the system sees.
// Each returns "" on success, or why it could not (for the case to skip with).
#pragma once

#include <string>

namespace sockspec {

// A mount namespace of its own whose mounts do not propagate back (/ made private,
// recursively). Without CAP_SYS_ADMIN, a new user namespace mapping the caller's own uid
// and gid grants it over the new mount namespace. Mounts made there die with the process.
std::string enter_private_mount_namespace();

// A network namespace of its own. Without CAP_SYS_ADMIN, a new user namespace grants it
// (the socket layer still sees the caller's real credentials). Abstract AF_UNIX names are
// per network namespace; pathname sockets are reached through the filesystem regardless.
std::string enter_new_network_namespace();

}  // namespace sockspec
