// Socket-pair kinds as a rapidcheck generator, so a property ranges over kinds as well as
// data, and a counterexample names the kind it failed on.
#pragma once

#include <rapidcheck.h>

#include <ostream>

#include "case/kind.h"

namespace sockspec {

inline rc::Gen<PairKind> gen_kind(const std::function<bool(const PairKind&)>& holds) {
  return rc::gen::elementOf(kinds_where(holds));
}

// How rapidcheck prints a kind in a counterexample.
inline void showValue(const PairKind& kind, std::ostream& os) {
  os << kind.name();
}

}  // namespace sockspec
