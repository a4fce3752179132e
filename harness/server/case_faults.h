// What a case process does to itself under a fault of `sockspec faults` that strace cannot
// make alone (runner/googletest_faults.h), as its case starts.
//
// strace raises the signal of the signal plan at a chosen call (-e inject=CALL:signal=...),
// but a signal nobody catches either kills or is ignored; it interrupts a blocked call only
// when a handler runs. So the case process installs one, with SA_RESTART or without, and its
// peers inherit it across fork(). The limits plan sets RLIMIT_NOFILE from inside, as the
// scripted `limit RLIMIT_NOFILE +N` does: only the process knows which fds it has open.
#pragma once

#include <sys/resource.h>

#include <optional>

#include <gtest/gtest.h>

namespace sockspec {

// Appended after every other listener: GoogleTest calls the start of a test in the order
// listeners were appended and its end in the reverse order, so the fault is made after the
// others have started the test and the fd limit given back before they record its end.
class CaseFaults : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& test) override;
  void OnTestEnd(const ::testing::TestInfo& test) override;

  std::optional<rlimit> saved_fd_limit_;
};

}  // namespace sockspec
