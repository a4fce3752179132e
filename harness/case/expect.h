// GoogleTest matchers for CallResult. A mismatch prints the call with its arguments and
// both outcomes with errno names:
//   Value of: call::send(a, "x", MSG_DONTWAIT)
//   Expected: fails with -1 EAGAIN
//     Actual: send(4, "x", MSG_DONTWAIT) = 1
#pragma once

#include <gmock/gmock.h>

#include "case/call.h"
#include "os/names.h"
#include "os/quote.h"

namespace sockspec {

MATCHER_P(FailsWith, expected_errno, "fails with -1 " + errno_name(expected_errno)) {
  return arg.failed() && arg.err == expected_errno;
}

// For rules that allow either of two errors (or where Linux versions differ).
MATCHER_P2(FailsWithEither, first, second,
           "fails with -1 " + errno_name(first) + " or -1 " + errno_name(second)) {
  return arg.failed() && (arg.err == first || arg.err == second);
}

MATCHER(Succeeds, "succeeds") {
  return !arg.failed();
}

MATCHER_P(Returns, expected_value, "returns " + std::to_string(expected_value)) {
  return !arg.failed() && arg.value == static_cast<long>(expected_value);
}

// A receive that returned exactly these bytes.
MATCHER_P(Receives, expected_bytes,
          "returns " + std::to_string(std::string_view(expected_bytes).size()) + " " +
              quote_bytes(expected_bytes)) {
  const std::string_view expected(expected_bytes);
  return !arg.failed() && arg.value == static_cast<long>(expected.size()) && arg.data == expected;
}

// End of file on a stream: the peer has gone and nothing is queued.
MATCHER(ReturnsEof, "returns 0 (end of file)") {
  return !arg.failed() && arg.value == 0;
}

}  // namespace sockspec
