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

// The export format's unsigned code of y (deploy::quantize_activation): int(clamp(y / scale, lo, hi) + 0.5f),
// each step the same float operation, written with selects so that the loops calling it vectorise.
inline std::uint8_t unsigned_code(float y, float scale, float lo, float hi) {
  float v = y / scale;
  v = v < lo ? lo : v;
  v = hi < v ? hi : v;
  return static_cast<std::uint8_t>(static_cast<int>(v + 0.5f));
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

// The next layer's unsigned codes by the export format's rule (deploy::quantize_activation of
// deploy::activate): y clipped by the activation, v = clamp(y / scale, 0, qmax), q = int(v + 0.5f), each step
// the same float operation as there, so the codes are the reference's. Written with selects, it vectorises.
void epilogue_codes(const EpilogueRowJob& e) {
  const std::int32_t* __restrict acc = e.acc;
  const float* __restrict multiplier = e.multiplier;
  const float* __restrict bias = e.bias;
  std::uint8_t* __restrict out = e.out_codes;
  const float qmax = static_cast<float>((1 << e.out_bits) - 1);
  const float scale = e.out_scale, upper = e.upper;
  const bool relu = e.relu;
  for (int i = 0, n = e.count; i < n; ++i) {
    float y = static_cast<float>(acc[i]) * multiplier[i] + bias[i];
    y = relu && y < 0.0f ? 0.0f : y;
    y = y > upper ? upper : y;
    out[i] = unsigned_code(y, scale, 0.0f, qmax);
  }
}

// Each step the reference's float operation (deploy::activate, then unsigned_code), written with selects so
// that it vectorises.
void add_codes(const AddCodesJob& j) {
  const float* __restrict a = j.a;
  const float* __restrict b = j.b;
  float* __restrict sum = j.sum;
  std::uint8_t* __restrict codes = j.codes;
  const float scale = j.scale, lo = j.lo, hi = j.hi, upper = j.upper;
  const bool relu = j.relu;
  for (std::size_t i = 0, n = j.count; i < n; ++i) {
    float y = a[i] + b[i];
    y = relu && y < 0.0f ? 0.0f : y;
    y = y > upper ? upper : y;
    sum[i] = y;
    codes[i] = unsigned_code(y, scale, lo, hi);
  }
}

// The same quantizer alone (job.b and job.sum unused): codes[i] of a[i].
void quantize_codes(const AddCodesJob& j) {
  const float* __restrict a = j.a;
  std::uint8_t* __restrict codes = j.codes;
  const float scale = j.scale, lo = j.lo, hi = j.hi;
  for (std::size_t i = 0, n = j.count; i < n; ++i) codes[i] = unsigned_code(a[i], scale, lo, hi);
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
