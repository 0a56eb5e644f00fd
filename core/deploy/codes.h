// Integer codes of deployment models: activation quantization and the bit-plane form of odd weight codes,
// shared by the reference interpreter, the loader's checks and the backends.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "core/deploy/model.h"

namespace r2q::deploy {

// `a` applied to y, as the reference interpreter and every backend do: std::max / std::min, so that -0.0f
// stays -0.0f under ReLU (max(-0.0f, 0.0f) is its first argument) and NaN passes through.
inline float activate(float y, Activation a) {
  switch (a) {
    case Activation::Relu:
      return std::max(y, 0.0f);
    case Activation::Relu6:
      return std::min(std::max(y, 0.0f), 6.0f);
    case Activation::None:
      break;
  }
  return y;
}

// The code range of an input quantizer kind: Unsigned [0, 2^bits - 1], Signed [-2^(bits-1), 2^(bits-1) - 1].
int32_t kind_min_code(ActKind kind, int bits);
int32_t kind_max_code(ActKind kind, int bits);

// The code of one float under `q` (kind not None), by the rule documented at InputQuant. NaN maps to 0.
// Float32 throughout, as torch computes sign(v) * floor(|v| + 0.5) on float tensors: |v| + 0.5f rounds, so
// 0.49999997f becomes code 1 here (std::round would give 0). The floor of that non-negative value is its
// conversion to int (truncation); inline, so that the engines' loops vectorise it.
inline int32_t quantize_activation(float x, const InputQuant& q) {
  float v = x / q.scale;
  if (std::isnan(v)) return 0;
  v = std::clamp(v, static_cast<float>(q.min_code), static_cast<float>(q.max_code));
  const auto magnitude = static_cast<int32_t>(std::fabs(v) + 0.5f);
  return v < 0 ? -magnitude : magnitude;
}
std::vector<int32_t> quantize_activations(std::span<const float> x, const InputQuant& q);

// Odd codes [out, k] (row-major) -> bit-planes [out][bits][plane_words(k)] (layout at Weights::planes).
// Throws InputError naming the index of a code that is even or outside [-(2^bits - 1), 2^bits - 1].
std::vector<uint64_t> pack_odd_planes(std::span<const int32_t> codes, int64_t out, int64_t k, int bits);
// The inverse. Throws InputError when `planes` has the wrong size or a bit past k is set.
std::vector<int32_t> unpack_odd_planes(std::span<const uint64_t> planes, int64_t out, int64_t k, int bits);

// The integer weight codes [O, K] of a conv/linear layer with OddPlanes or IntCodes weights.
std::vector<int32_t> weight_codes(const Conv& conv);
// The largest |code| a weight format can hold (OddPlanes: 2^bits - 1; IntCodes: 2^(bits-1)).
int64_t max_abs_weight_code(const Weights& weights);

}  // namespace r2q::deploy
