#include "case/kind.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "case/call.h"
#include "case/case.h"
#include "os/case_error.h"

namespace sockspec {

std::string PairKind::name() const {
  std::string text = type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram" : "seqpacket";
  text += naming == Naming::kSocketpair ? "_socketpair"
          : naming == Naming::kPathname ? "_pathname"
                                        : "_abstract";
  if (nonblocking) text += "_nonblocking";
  if (swapped) text += "_swapped";
  return text;
}

std::vector<PairKind> all_kinds() {
  std::vector<PairKind> kinds;
  for (int type : {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET})
    for (Naming naming : {Naming::kSocketpair, Naming::kPathname, Naming::kAbstract})
      for (bool nonblocking : {false, true})
        for (bool swapped : {false, true}) kinds.push_back({naming, type, nonblocking, swapped});
  return kinds;
}

std::vector<PairKind> kinds_where(const std::function<bool(const PairKind&)>& holds) {
  std::vector<PairKind> kinds;
  for (const auto& kind : all_kinds())
    if (holds(kind)) kinds.push_back(kind);
  return kinds;
}

namespace {

UnixAddress fresh_address(const PairKind& kind, Case& here, std::string_view stem) {
  return kind.naming == Naming::kPathname ? UnixAddress::pathname(here.path_name(stem))
                                          : UnixAddress::abstract(here.abstract_name(stem));
}

SocketPair connect_named(const PairKind& kind, Case& here) {
  Fd first = open_socket(kind.type);
  Fd second = open_socket(kind.type);
  const UnixAddress first_name = fresh_address(kind, here, "a");
  must(call::bind(first.get(), first_name));
  if (kind.connection_oriented()) {
    must(call::listen(first.get(), 1));
    must(call::connect(second.get(), first_name));
    Fd accepted(static_cast<int>(must(call::accept(first.get())).value));
    return {std::move(second), std::move(accepted)};  // connecting end, accepted end
  }
  const UnixAddress second_name = fresh_address(kind, here, "b");
  must(call::bind(second.get(), second_name));
  must(call::connect(first.get(), second_name));
  must(call::connect(second.get(), first_name));
  return {std::move(first), std::move(second)};
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
    throw CaseError(fmt::format("fcntl(O_NONBLOCK) on fd {}: {}", fd, std::strerror(errno)));
}

}  // namespace

SocketPair make_pair(const PairKind& kind, Case& here) {
  SocketPair pair;
  if (kind.naming == Naming::kSocketpair) {
    const CallResult r = must(call::socketpair(AF_UNIX, kind.type, 0));
    pair = {Fd(r.fds[0]), Fd(r.fds[1])};
  } else {
    pair = connect_named(kind, here);
  }
  if (kind.nonblocking) set_nonblocking(pair.a.get()), set_nonblocking(pair.b.get());
  if (kind.swapped) std::swap(pair.a, pair.b);
  return pair;
}

}  // namespace sockspec
