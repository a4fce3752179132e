// Socket-pair kinds as values: how the two connected ends of a case were made.
//
//   naming:   socketpair(2) | a pathname listener/bind | an abstract-name listener/bind
//   type:     SOCK_STREAM | SOCK_DGRAM | SOCK_SEQPACKET
//   blocking: blocking | O_NONBLOCK on both ends
//   swapped:  which end the case calls `a` (for pathname/abstract stream sockets: `a` is
//             the connecting end, or, swapped, the accepted end)
//
// A behaviour is written once against a PairKind and instantiated for every kind where its
// rule holds; instances are named after the kind ("stream_pathname_nonblocking_swapped").
#pragma once

#include <sys/socket.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "os/fd.h"

namespace sockspec {

class Case;

enum class Naming { kSocketpair, kPathname, kAbstract };

struct PairKind {
  Naming naming = Naming::kSocketpair;
  int type = SOCK_STREAM;
  bool nonblocking = false;
  bool swapped = false;

  // "stream_socketpair", "dgram_abstract_nonblocking_swapped"
  std::string name() const;
  bool connection_oriented() const { return type == SOCK_STREAM || type == SOCK_SEQPACKET; }
  friend bool operator==(const PairKind&, const PairKind&) = default;
};

// Every combination: 3 namings x 3 types x blocking/non-blocking x swapped or not.
std::vector<PairKind> all_kinds();
std::vector<PairKind> kinds_where(const std::function<bool(const PairKind&)>& holds);

// Two connected ends. For SOCK_DGRAM with names, each end is bound and connect()ed to the
// other, so send()/recv() work as on the other kinds.
struct SocketPair {
  Fd a;
  Fd b;
};

// Makes a connected pair of `kind` in the current case (names come from Case::path_name /
// abstract_name). Throws CaseError when a set-up call fails.
SocketPair make_pair(const PairKind& kind, Case& here);

// How GoogleTest prints a kind in a failure ("GetParam() = stream_pathname_swapped").
inline void PrintTo(const PairKind& kind, std::ostream* os) {
  *os << kind.name();
}

// GoogleTest names instances after their kind instead of /0, /1, ...
struct KindName {
  template <typename ParamInfo>
  std::string operator()(const ParamInfo& info) const {
    return info.param.name();
  }
};

}  // namespace sockspec
