// A rapidcheck property as the body of a GoogleTest case.
//
//   TEST_F(StreamOrderingTest, ReaderGetsExactlyTheBytesWritten) {
//     check_property([&] { ... *rc::gen::... RC_ASSERT(...); });
//   }
//
// A failure shows the shrunk counterexample, and the case's result record carries
// rapidcheck's reproduce string, with which the runner replays exactly that counterexample
// under strace. RC_ASSERT throws, so it cannot cross a fork: peers report values back and
// the controller asserts on them.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <sstream>
#include <utility>

#include "protocol/case_protocol.h"

namespace sockspec {

template <typename Property>
void check_property(Property&& property) {
  // rapidcheck's own GoogleTest glue (rc::detail::checkGTest), plus the reproduce string in
  // the record instead of in a message printed at exit.
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  ::rc::detail::TestMetadata metadata;
  metadata.id = std::string(test->test_suite_name()) + "/" + test->name();
  metadata.description = test->name();
  const auto result = ::rc::detail::checkTestable(std::forward<Property>(property), metadata);
  if (result.template is<::rc::detail::SuccessResult>()) return;
  if (result.template is<::rc::detail::FailureResult>()) {
    ::rc::detail::Configuration replay;
    replay.reproduce[metadata.id] = result.template get<::rc::detail::FailureResult>().reproduce;
    // "reproduce=STRING seed=N": the STRING alone replays the counterexample.
    const std::string config = ::rc::detail::configToMinimalString(replay);
    const auto start = config.find("reproduce=");
    if (start != std::string::npos) {
      const auto value = start + std::string_view("reproduce=").size();
      ::testing::Test::RecordProperty(protocol::kReproduceProperty,
                                      config.substr(value, config.find(' ', value) - value));
    }
  }
  std::ostringstream message;
  ::rc::detail::printResultMessage(result, message);
  ADD_FAILURE_AT(test->file(), test->line()) << message.str();
}

}  // namespace sockspec
