// Code every shift-add kernel translation unit compiles with its own instruction set: the epilogue (the
// compiler vectorises it to that unit's width) and small helpers. Deliberately in an anonymous namespace:
// each unit gets its own copy, so no copy built with AVX-512 flags can be linked into the portable path.
#pragma once

#include <cstdint>
#include <cstring>

#include "backends/cpu/shift_add_kernels.h"

namespace r2q::backends::cpu::detail {
namespace {

// An unaligned little-endian 64-bit load: one mov, or the memory operand of a broadcast.
inline std::uint64_t load_u64(const void* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The pointers and the count are copied to (__restrict) locals: a u8 store may alias anything, so through `e`
// the compiler would reload them every element and not vectorise.
template <bool kRelu>
void epilogue_float(const EpilogueRowJob& e) {
  const std::int32_t* __restrict acc = e.acc;
  const float* __restrict multiplier = e.multiplier;
  const float* __restrict bias = e.bias;
  float* __restrict out = e.out_float;
  for (int i = 0, n = e.count; i < n; ++i) {
    const float y = static_cast<float>(acc[i]) * multiplier[i] + bias[i];
    out[i] = kRelu && y < 0.0f ? 0.0f : y;
  }
}

// q = round(clamp(y / scale, 0, 1) * qmax) with round = std::round. For x in [0, qmax], std::round(x) is
// trunc(x) + (x - trunc(x) >= 0.5) exactly (the difference is exact in float), which vectorises; a libm call
// would not. ReLU needs no separate step: the clamp at 0 is one.
void epilogue_codes(const EpilogueRowJob& e) {
  const std::int32_t* __restrict acc = e.acc;
  const float* __restrict multiplier = e.multiplier;
  const float* __restrict bias = e.bias;
  std::uint8_t* __restrict out = e.out_codes;
  const float qmax = static_cast<float>((1 << e.out_bits) - 1);
  const float scale = e.out_scale;
  for (int i = 0, n = e.count; i < n; ++i) {
    const float y = static_cast<float>(acc[i]) * multiplier[i] + bias[i];
    float x = y / scale;
    x = x < 0.0f ? 0.0f : x;
    x = x > 1.0f ? 1.0f : x;
    x *= qmax;
    int q = static_cast<int>(x);
    q += (x - static_cast<float>(q) >= 0.5f) ? 1 : 0;
    out[i] = static_cast<std::uint8_t>(q);
  }
}

void epilogue_row(const EpilogueRowJob& e) {
  if (e.out_bits > 0)
    epilogue_codes(e);
  else if (e.relu)
    epilogue_float<true>(e);
  else
    epilogue_float<false>(e);
}

}  // namespace
}  // namespace r2q::backends::cpu::detail
