// The GoogleTest side of the result protocol: a listener that writes the case's
// ResultRecord (protocol/case_protocol.h) as the case runs, so that a failure already
// recorded survives the case process crashing later.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>

#include "protocol/case_protocol.h"

namespace sockspec {

class ResultRecorder : public ::testing::EmptyTestEventListener {
 public:
  ResultRecorder(std::string result_file, std::string case_name);

  void OnTestPartResult(const ::testing::TestPartResult& part) override;
  void OnTestEnd(const ::testing::TestInfo& info) override;
  void OnTestProgramEnd(const ::testing::UnitTest& unit) override;

 private:
  void write();

  std::string result_file_;
  std::string case_name_;
  pid_t owner_;  // peers are forks of the case process: only the case process writes
  bool ended_ = false;
  protocol::ResultRecord record_;
};

}  // namespace sockspec
