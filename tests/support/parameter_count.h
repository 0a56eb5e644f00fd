// The number of learnable values of a model, for the model tests' parameter-count checks.
#pragma once

#include <cstdint>

#include "core/nn/network.h"

namespace r2q::testing {

inline int64_t parameter_count(nn::Network& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace r2q::testing
