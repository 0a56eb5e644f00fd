// The float loops' inner product (a layer with a float side: the stem's float input, or float weights) as a
// kernel per instruction set: every output is the reference interpreter's double sum in the reference's
// order, so every ISA returns the very same doubles.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/shift_add_conv.h"

namespace r2q::backends::cpu {

// sums[o * channel_stride + p * pixel_stride] = sum over i = 0, 1, ..., k - 1 (in that order) of
// weights[o * k + i] * columns[i * pixels + p], in double, for o < channels and p < pixels: channel planes
// (channel_stride = pixels, pixel_stride = 1) or pixels of channels (channel_stride = 1, pixel_stride =
// channels), as the epilogue wants them. The weights are floats and the columns floats
// widened to double, so each product is exact in double and only the additions round: the same additions
// in the same order on every ISA give the same doubles, whatever the vector width or tile.
// The columns of a convolution read in place: column i = (ci, ky, kx) at pixel p = (oy, ox) is
// padded[(ci * padded_h + oy * stride_h + ky) * padded_w + ox * stride_w + kx], the input with its zero
// border.
struct FloatWindows {
  const double* padded = nullptr;
  std::int64_t padded_h = 0, padded_w = 0;
  std::int64_t kernel_h = 0, kernel_w = 0, stride_h = 1, stride_w = 1;
  std::int64_t out_w = 0;  // pixels = out_h * out_w
};

struct FloatGemmJob {
  const float* weights = nullptr;   // [channels][k]
  const double* columns = nullptr;  // [k][pixels]
  double* sums = nullptr;
  std::int64_t k = 0;
  std::int64_t channels = 0;
  std::size_t pixels = 0;
  std::size_t channel_stride = 0;
  std::size_t pixel_stride = 1;
  // Optional, for pixels of channels: the same weights as doubles, [k][channels]. With them, whole vectors of
  // channels are summed side by side and stored as they lie (NHWC) instead of scattered.
  const double* weights_by_k = nullptr;
  // Optional, with weights_by_k and pixels of channels, instead of columns: read the columns in place (k =
  // input channels x kernel_h x kernel_w, in that order).
  const FloatWindows* windows = nullptr;
};

// Runs the job with the kernel of `isa` (resolved: Scalar, Avx2 or Avx512, available on this CPU).
void float_gemm(Isa isa, const FloatGemmJob& job);

namespace detail {
void float_gemm_portable(const FloatGemmJob& job);
#ifdef R2Q_X86_KERNELS
void float_gemm_avx2(const FloatGemmJob& job);
void float_gemm_avx512(const FloatGemmJob& job);
#endif
}  // namespace detail

}  // namespace r2q::backends::cpu
