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
// In double (FloatWindowJob), or in float for the per-input-channel sums of an input-affine layer
// (CodeWindowJob, channel_window_sums).
template <typename T>
struct WindowJob {
  const T* weights_by_k = nullptr;  // [k][channels], k = in_channels x kernel_h x kernel_w
  const T* padded = nullptr;        // [in_channels][padded_h][padded_w]
  T* sums = nullptr;                // [out_h x out_w][channels]
  std::int64_t in_channels = 0, padded_h = 0, padded_w = 0;
  std::int64_t kernel_h = 0, kernel_w = 0, stride_h = 1, stride_w = 1;
  std::int64_t out_h = 0, out_w = 0;
  std::int64_t channels = 0;
};
using FloatWindowJob = WindowJob<double>;
using CodeWindowJob = WindowJob<float>;

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

// The per-input-channel window sums of an input-affine layer (deploy::InputAffine), integer codes times
// integer weights whose every partial sum is an integer below 2^24 and so exact in float32: sums[c * out_h *
// out_w * channels + p * channels + o] = the sum over (ky, kx) of weights_by_k[((c * kernel_h + ky) *
// kernel_w + kx) * channels + o] * padded[(c * padded_h + oy * stride_h + ky) * padded_w + ox * stride_w +
// kx] for output pixel p = oy * out_w + ox: whole vectors of channels side by side, each input channel apart.
//
// Their epilogue on `pixels` output pixels (one row): t = sum over input channels c (in order) of in_mul[c] *
// sums[c * channel_stride + p * channels + o], minus offsets[p * channels + o], all in double from +0.0;
// then dst[p * channels + o] = act(float(t) * mul[o] + bias[o]), as the reference interpreter.
struct AffineEpilogueJob {
  const float* sums = nullptr;  // channel_window_sums' planes [in_channels][pixels][channels]
  std::size_t channel_stride = 0;
  std::int64_t in_channels = 0;
  const double* in_mul = nullptr;   // [in_channels]
  const double* offsets = nullptr;  // [pixels][channels] (deploy::AffineOffsets::pixel)
  const float* mul = nullptr;       // [channels]
  const float* bias = nullptr;      // [channels]
  double* t = nullptr;              // scratch [pixels][channels]
  float* dst = nullptr;
  std::size_t pixels = 0, channels = 0;
  FloatEpilogueJob::Act act = FloatEpilogueJob::Act::None;
};

// channel_window_sums on the codes as bytes, for AVX-512 VNNI (pixel_sums_vnni.cpp): the padded codes
// [in_channels][padded_h][padded_w] as u8 (and 3 bytes more after the last row, read and multiplied by 0),
// the weights as s8 quads [in_channels][kernel_h][channels][4], a kernel row's taps and zeros after them.
// `window` gives the geometry and the sums (same sums, same layout); its weights_by_k and padded are unused.
struct ByteWindowJob {
  const std::uint8_t* padded = nullptr;
  const std::int8_t* quads = nullptr;
  CodeWindowJob window;
};
// The same with AVX2's vpmaddwd (pixel_sums_avx2.cpp): the padded codes as int16 (and 2 more after the last
// row, multiplied by 0), the weights as int16 pairs [in_channels][kernel_h][(kernel_w + 1) / 2][channels][2].
struct WordWindowJob {
  const std::int16_t* padded = nullptr;
  const std::int16_t* pairs = nullptr;
  CodeWindowJob window;
};

// Which integer kernel computes a layer's per-channel sums on this CPU under `isa`, if any: the bytes on
// AVX-512 with VNNI (whole vectors of 16 output channels), the words on AVX2 or AVX-512 without VNNI (of 8);
// both want 1 to 4 input channels, kernels at most 4 wide, codes in [0, 255] and weights within [-128, 127]
// (largest |code| 128).
enum class IntSums { None, Bytes, Words };
IntSums int_window_sums_for(Isa isa, std::int64_t in_channels, std::int64_t kernel_w, std::int64_t channels,
                            std::int64_t max_code, std::int64_t max_abs_weight);
void byte_window_sums(const ByteWindowJob& job);
void word_window_sums(const WordWindowJob& job);

// Run a job with the kernels of `isa` (resolved: Scalar, Avx2 or Avx512, available on this CPU).
void float_gemm(Isa isa, const FloatGemmJob& job);
void float_window_conv(Isa isa, const FloatWindowJob& job);
void float_epilogue(Isa isa, const FloatEpilogueJob& job);
void channel_window_sums(Isa isa, const CodeWindowJob& job);
void affine_epilogue(Isa isa, const AffineEpilogueJob& job);

namespace detail {
struct FloatKernels {
  void (*gemm)(const FloatGemmJob&) = nullptr;
  void (*window_conv)(const FloatWindowJob&) = nullptr;
  void (*epilogue)(const FloatEpilogueJob&) = nullptr;
  void (*channel_window_sums)(const CodeWindowJob&) = nullptr;
  void (*affine_epilogue)(const AffineEpilogueJob&) = nullptr;
};
const FloatKernels& float_kernels_portable();
#ifdef R2Q_X86_KERNELS
const FloatKernels& float_kernels_avx2();
const FloatKernels& float_kernels_avx512();
void byte_window_sums_vnni(const ByteWindowJob& job);
void word_window_sums_avx2(const WordWindowJob& job);
#endif
}  // namespace detail

}  // namespace r2q::backends::cpu
