// Thrown when a case cannot go on: a set-up step failed, a peer died early, a bounded wait
// ran out. GoogleTest reports it as a failure of the case with this message; a peer reports
// it to its controller; rapidcheck treats it as a failed property and shrinks.
#pragma once

#include <stdexcept>

namespace sockspec {

struct CaseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace sockspec
