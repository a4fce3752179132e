// A rapidcheck property as the body of a GoogleTest case.
//
//   TEST_F(StreamOrderingTest, ReaderGetsExactlyTheBytesWritten) {
//     check_property([&] { ... *rc::gen::... RC_ASSERT(...); });
//   }
//
// A failure shows the shrunk counterexample; rapidcheck's reproduce string (printed at
// exit) lets the runner replay exactly that counterexample under strace. RC_ASSERT throws,
// so it cannot cross a fork: peers report values back and the controller asserts on them.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <utility>

namespace sockspec {

template <typename Property>
void check_property(Property&& property) {
  ::rc::detail::checkGTest(std::forward<Property>(property));
}

}  // namespace sockspec
