// What the one-pass fake quantizers (lsq_, dorefa_ and pact_fake_quant.cpp) share: which tensors they take,
// and the per-element steps, each the float32 operation LibTorch's kernel for that step of the operation
// chain performs (a clamp and round_ste's sign(c) * floor(|c| + 0.5)), on one value and on four SSE2 lanes
// (every x86-64 CPU has SSE2). Internal to core/quant.
#pragma once

#include <torch/types.h>

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace r2q::quant::lanes {

// Elements per task of at::parallel_for in the one-pass kernels.
constexpr std::int64_t kGrain = 16384;

// Codes of a larger magnitude take the chain: round_half_away needs |c| + 0.5 below 2^22.
constexpr double kMaxCode = 1 << 22;

// A tensor the kernels read and write in place of the chain: dense float32 on the CPU.
inline bool dense_cpu_float(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_non_overlapping_and_dense();
}

// A learnable scalar of x's quantizer (LSQ's step, PACT's clip) that the kernels read as one float: a
// one-element float32 CPU tensor that broadcasts against x.
inline bool scalar_of(const torch::Tensor& p, const torch::Tensor& x) {
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.numel() == 1 && x.dim() >= p.dim();
}

// The incoming gradient g laid out as x (the layout the backward kernels read in step with x, and in which
// the chain's per-element terms are summed).
inline torch::Tensor in_layout_of(const torch::Tensor& g, const torch::Tensor& x) {
  return g.strides() == x.strides() ? g : torch::empty_like(x).copy_(g);
}

// clamp(v, lo, hi) for a value that is not NaN.
inline float clamp(float v, float lo, float hi) {
  const float c = v > lo ? v : lo;
  return c < hi ? c : hi;
}

// sign(c) * floor(|c| + 0.5) for a finite c with |c| < 2^22, where |c| + 0.5 truncated to an integer is its
// floor and exact. sign(+-0) is +0 as in LibTorch, so the sign of a zero never shows.
inline float round_half_away(float c) {
  const float r = static_cast<float>(static_cast<std::int32_t>((c < 0 ? -c : c) + 0.5f));
  const float sign = static_cast<float>(static_cast<int>(0 < c) - static_cast<int>(c < 0));
  return sign * r;
}

#if defined(__SSE2__)
// Four lanes of round_half_away, branch-free.
inline __m128 round_half_away(__m128 c) {
  const __m128 zero = _mm_setzero_ps(), one = _mm_set1_ps(1.0f);
  const __m128 magnitude = _mm_andnot_ps(_mm_set1_ps(-0.0f), c);
  const __m128 r = _mm_cvtepi32_ps(_mm_cvttps_epi32(_mm_add_ps(magnitude, _mm_set1_ps(0.5f))));
  const __m128 sign =
      _mm_sub_ps(_mm_and_ps(_mm_cmplt_ps(zero, c), one), _mm_and_ps(_mm_cmplt_ps(c, zero), one));
  return _mm_mul_ps(sign, r);
}

// clamp(v, lo, hi) lane by lane for lanes that are not NaN (a NaN lane comes out as lo: see keep_nan).
inline __m128 clamp(__m128 v, __m128 lo, __m128 hi) {
  return _mm_min_ps(_mm_max_ps(v, lo), hi);
}

// `value` where `input` is a number, `input` itself where it is NaN: the chain carries a NaN through its
// clamp and rounding to the output.
inline __m128 keep_nan(__m128 input, __m128 value) {
  const __m128 nan = _mm_cmpunord_ps(input, input);
  return _mm_or_ps(_mm_and_ps(nan, input), _mm_andnot_ps(nan, value));
}
#endif

}  // namespace r2q::quant::lanes
