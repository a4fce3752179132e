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

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <rapidcheck/detail/TestListenerAdapter.h>

#include "os/clock.h"
#include "protocol/case_protocol.h"

namespace sockspec {

// What a property's run came to: nothing on success; on failure a GoogleTest failure with
// the shrunk counterexample, and rapidcheck's reproduce string in the case's record.
inline void report_property_result(const ::rc::detail::TestResult& result,
                                   const ::rc::detail::TestMetadata& metadata) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
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

inline ::rc::detail::TestMetadata property_metadata() {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  ::rc::detail::TestMetadata metadata;
  metadata.id = std::string(test->test_suite_name()) + "/" + test->name();
  metadata.description = test->name();
  return metadata;
}

template <typename Property>
void check_property(Property&& property) {
  // rapidcheck's own GoogleTest glue (rc::detail::checkGTest), plus the reproduce string in
  // the record instead of in a message printed at exit.
  const auto metadata = property_metadata();
  report_property_result(::rc::detail::checkTestable(std::forward<Property>(property), metadata),
                         metadata);
}

// The moment a slow property's tests stop running (see check_property_in_time()).
inline Clock::time_point& property_stop_time() {
  static Clock::time_point stop = Clock::time_point::max();
  return stop;
}
inline int& property_tests_skipped() {
  static int skipped = 0;
  return skipped;
}
// Set by a slow property's test when it fails: from then on its tests always run, since
// rapidcheck runs the shrunk counterexample once more to show it.
inline bool& property_failed() {
  static bool failed = false;
  return failed;
}

// For a test of a slow property, at its start: true once the property's time is up (and
// nothing has failed), and the test then returns without running; rapidcheck takes it for a
// pass, and no new round starts.
inline bool property_time_is_up() {
  if (property_failed() || Clock::now() < property_stop_time()) return false;
  ++property_tests_skipped();
  return true;
}

// A property whose every test is slow (a model runs a whole scripted case per test): runs
// rounds of ten tests, each round with a seed of its own, until max_success tests have
// passed (RC_PARAMS, 100 by default) or `share` of the case's remaining time is used,
// whichever comes first, so that a slow target runs fewer tests instead of missing the
// deadline; the property's test calls property_time_is_up() first, and sets
// property_failed() when it fails. Where the time left would not cover shrinking a failure
// (about 60 tests), a round runs without shrinking and a failure is shown as found. How
// many ran is the case's kTestsProperty, which sockspec shows on its PASS line and in its
// reports. A reproduce= in RC_PARAMS replays its counterexample as with check_property().
template <typename Property>
void check_property_in_time(Property property, Clock::time_point deadline, double share = 0.5) {
  const auto metadata = property_metadata();
  const auto& config = ::rc::detail::configuration();
  if (config.reproduce.contains(metadata.id)) {
    report_property_result(::rc::detail::checkTestable(property, metadata), metadata);
    return;
  }
  const auto started = Clock::now();
  const auto budget = std::chrono::duration_cast<Clock::duration>((deadline - started) * share);
  // Rounds start within `share` of the time, and a round in progress stops running tests at
  // four fifths. Once a test fails every test runs, so shrinking is turned off beforehand for
  // a round whose shrinking would not fit in what is left.
  property_stop_time() =
      started + std::chrono::duration_cast<Clock::duration>((deadline - started) * 0.8);
  property_tests_skipped() = 0;
  property_failed() = false;
  constexpr int kShrinkTests = 60;
  ::rc::detail::TestParams params = config.testParams;
  const int wanted = params.maxSuccess;
  ::rc::detail::TestListenerAdapter quiet;
  int passed = 0;
  Clock::duration per_test{};  // learnt from the first round
  for (std::uint64_t round = 0; passed < wanted && Clock::now() - started < budget; ++round) {
    params.seed = config.testParams.seed + round * 0x9E3779B97F4A7C15ULL;
    // The first round is one test, to learn what a test costs before shrinking is allowed.
    params.maxSuccess = std::min(round == 0 ? 1 : 10, wanted - passed);
    params.disableShrinking = per_test * kShrinkTests > property_stop_time() - Clock::now();
    const auto round_started = Clock::now();
    const auto result =
        ::rc::detail::checkTestable(property, metadata, params, quiet, config.reproduce);
    if (!result.template is<::rc::detail::SuccessResult>()) {
      property_stop_time() = Clock::time_point::max();
      report_property_result(result, metadata);
      return;
    }
    const int ran = result.template get<::rc::detail::SuccessResult>().numSuccess;
    passed += ran;
    if (ran > 0) per_test = (Clock::now() - round_started) / ran;
  }
  passed -= property_tests_skipped();
  property_stop_time() = Clock::time_point::max();
  ::testing::Test::RecordProperty(
      protocol::kTestsProperty,
      passed < wanted ? fmt::format("{} of {}: the time budget ran out", passed, wanted)
                      : fmt::format("{}", passed));
}

}  // namespace sockspec
