// The float loops' inner products (a layer with a float side: the stem's float input, or float weights) as
// kernels per instruction set. Every output is the reference interpreter's double sum in the reference's
// order: the weights are floats and the inputs floats (or integer codes) widened to double, so each product
// is exact in double and only the additions round; the same additions in the same order give the same
// doubles on every ISA, whatever the vector width or tile.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/shift_add_conv.h"

namespace r2q::backends::cpu {

// Channel planes from im2col columns: sums[o * pixels + p] = the sum over i = 0, 1, ..., k - 1 (in that
// order) of weights[o * k + i] * columns[i * pixels + p], for o < channels and p < pixels.
struct FloatGemmJob {
  const float* weights = nullptr;   // [channels][k]
  const double* columns = nullptr;  // [k][pixels]
  double* sums = nullptr;           // [channels][pixels]
  std::int64_t k = 0;
  std::int64_t channels = 0;
  std::size_t pixels = 0;
};

// Pixels of channels (NHWC) from the input read in place: sums[p * channels + o] = the sum over i = (ci, ky,
// kx) in that order of weights_by_k[i * channels + o] * padded[(ci * padded_h + oy * stride_h + ky) *
// padded_w + ox * stride_w + kx], for pixel p = oy * out_w + ox. `padded` is the input with its zero border,
// so the terms are those of the columns, zeros included. Whole vectors of channels are summed side by side.
struct FloatWindowJob {
  const double* weights_by_k = nullptr;  // [k][channels], k = in_channels x kernel_h x kernel_w
  const double* padded = nullptr;        // [in_channels][padded_h][padded_w]
  double* sums = nullptr;                // [out_h x out_w][channels]
  std::int64_t in_channels = 0, padded_h = 0, padded_w = 0;
  std::int64_t kernel_h = 0, kernel_w = 0, stride_h = 1, stride_w = 1;
  std::int64_t out_h = 0, out_w = 0;
  std::int64_t channels = 0;
};

// The float loops' epilogue, the reference's float operations on each rounded sum: y = float(sum) * mul[c] +
// bias[c] (two roundings), then the activation (ReLU: y < 0 -> 0; ReLU6 also 6 < y -> 6). Channels last
// (window_conv's sums, [pixel][channels], into dst[p * dst_stride + c]) or first (gemm's, [channels][pixel],
// into dst[c * pixels + p]).
struct FloatEpilogueJob {
  enum class Act { None, Relu, Relu6 };
  const double* sums = nullptr;
  const float* mul = nullptr;   // [channels]
  const float* bias = nullptr;  // [channels]
  float* dst = nullptr;
  std::size_t pixels = 0, channels = 0;
  bool channels_last = true;
  std::size_t dst_stride = 0;  // channels last: floats from one pixel's outputs to the next
  Act act = Act::None;
};

// Run a job with the kernels of `isa` (resolved: Scalar, Avx2 or Avx512, available on this CPU).
void float_gemm(Isa isa, const FloatGemmJob& job);
void float_window_conv(Isa isa, const FloatWindowJob& job);
void float_epilogue(Isa isa, const FloatEpilogueJob& job);

namespace detail {
struct FloatKernels {
  void (*gemm)(const FloatGemmJob&) = nullptr;
  void (*window_conv)(const FloatWindowJob&) = nullptr;
  void (*epilogue)(const FloatEpilogueJob&) = nullptr;
};
const FloatKernels& float_kernels_portable();
#ifdef R2Q_X86_KERNELS
const FloatKernels& float_kernels_avx2();
const FloatKernels& float_kernels_avx512();
#endif
}  // namespace detail

}  // namespace r2q::backends::cpu
