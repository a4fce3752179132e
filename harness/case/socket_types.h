// The three AF_UNIX socket types as a test parameter, for the rules that hold for each type
// on its own (a bind() error, an autobind), where the richer PairKind (kind.h) says more
// than the rule needs: INSTANTIATE_TEST_SUITE_P(Types, Fixture,
// ::testing::ValuesIn(kSocketTypes), SocketTypeName()) names the instances ".../dgram".
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sockspec {

inline const std::vector<int> kSocketTypes = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};

inline std::string socket_type_name(int type) {
  return type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram" : "seqpacket";
}

struct SocketTypeName {
  std::string operator()(const ::testing::TestParamInfo<int>& param) const {
    return socket_type_name(param.param);
  }
};

}  // namespace sockspec
