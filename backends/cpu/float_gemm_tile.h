// The float GEMM's loops, included by each ISA's translation unit (float_gemm*.cpp) and compiled there with
// that ISA's flags; everything is in an anonymous namespace, so no ISA's copy can stand in for another's.
// GCC vector types hold L doubles: with -mavx512f L = 8 is one zmm, with -mavx2 L = 4 one ymm.
#pragma once

#include <cstring>
#include <type_traits>

#include "backends/cpu/float_gemm.h"

namespace r2q::backends::cpu::detail {
namespace {

// Columns, pixel lanes: channels [o0, o0 + TO) by pixels [p0, p0 + NV L). TO x NV vectors of sums stay in
// registers while i runs over k, ascending, so each pixel's additions are the reference's.
template <typename V, int L, int TO, int NV>
void gemm_tile(const FloatGemmJob& job, std::int64_t o0, std::size_t p0) {
  V acc[TO][NV] = {};  // +0.0 in every lane, where the reference's sum starts
  const float* w = job.weights + o0 * job.k;
  for (std::int64_t i = 0; i < job.k; ++i) {
    const double* column = job.columns + static_cast<std::size_t>(i) * job.pixels + p0;
    V x[NV];
    for (int v = 0; v < NV; ++v) std::memcpy(&x[v], column + v * L, sizeof(V));
    for (int r = 0; r < TO; ++r) {
      const double wr = static_cast<double>(w[r * job.k + i]);
      for (int v = 0; v < NV; ++v) acc[r][v] += wr * x[v];
    }
  }
  for (int r = 0; r < TO; ++r)
    for (int v = 0; v < NV; ++v)
      std::memcpy(job.sums + static_cast<std::size_t>(o0 + r) * job.pixels + p0 + v * L, &acc[r][v],
                  sizeof(V));
}

// Columns, one output: the reference's loop, for the pixels and channels no tile covers.
void gemm_one(const FloatGemmJob& job, std::int64_t o, std::size_t p) {
  const float* w = job.weights + o * job.k;
  double sum = 0;
  for (std::int64_t i = 0; i < job.k; ++i)
    sum += static_cast<double>(w[i]) * job.columns[static_cast<std::size_t>(i) * job.pixels + p];
  job.sums[static_cast<std::size_t>(o) * job.pixels + p] = sum;
}

// Columns: tiles of TO channels x NV L pixels, then single-vector tiles, then one output at a time.
template <typename V, int L, int TO, int NV>
void gemm(const FloatGemmJob& job) {
  constexpr std::size_t kWide = static_cast<std::size_t>(NV) * L;
  std::int64_t o0 = 0;
  for (; o0 + TO <= job.channels; o0 += TO) {
    std::size_t p0 = 0;
    for (; p0 + kWide <= job.pixels; p0 += kWide) gemm_tile<V, L, TO, NV>(job, o0, p0);
    for (; p0 + L <= job.pixels; p0 += L) gemm_tile<V, L, TO, 1>(job, o0, p0);
    for (std::int64_t o = o0; o < o0 + TO; ++o)
      for (std::size_t p = p0; p < job.pixels; ++p) gemm_one(job, o, p);
  }
  for (; o0 < job.channels; ++o0) {
    std::size_t p0 = 0;
    for (; p0 + kWide <= job.pixels; p0 += kWide) gemm_tile<V, L, 1, NV>(job, o0, p0);
    for (; p0 < job.pixels; ++p0) gemm_one(job, o0, p0);
  }
}

// Windows, channel lanes: channels [o0, o0 + NV L) in the lanes of NV vectors, output pixels (oy, ox0 .. ox0
// + TP - 1) of one row. Each lane adds its own channel's terms in the order of i = (ci, ky, kx).
template <typename V, int L, int NV, int TP>
void window_tile(const FloatWindowJob& job, std::int64_t o0, std::int64_t oy, std::int64_t ox0) {
  V acc[TP][NV] = {};
  const double* w_i = job.weights_by_k + o0;
  for (std::int64_t ci = 0; ci < job.in_channels; ++ci)
    for (std::int64_t ky = 0; ky < job.kernel_h; ++ky) {
      const double* row =
          job.padded + ((ci * job.padded_h + oy * job.stride_h + ky) * job.padded_w + ox0 * job.stride_w);
      for (std::int64_t kx = 0; kx < job.kernel_w; ++kx, w_i += job.channels) {
        V w[NV];
        for (int v = 0; v < NV; ++v) std::memcpy(&w[v], w_i + v * L, sizeof(V));
        for (int p = 0; p < TP; ++p) {
          const double x = row[p * job.stride_w + kx];
          for (int v = 0; v < NV; ++v) acc[p][v] += w[v] * x;
        }
      }
    }
  double* out = job.sums + (oy * job.out_w + ox0) * job.channels + o0;
  for (int p = 0; p < TP; ++p)
    for (int v = 0; v < NV; ++v) std::memcpy(out + p * job.channels + v * L, &acc[p][v], sizeof(V));
}

// Windows, one output channel at a time: the channels, fewer than a vector, that the tiles leave.
void window_channel(const FloatWindowJob& job, std::int64_t o) {
  for (std::int64_t oy = 0; oy < job.out_h; ++oy)
    for (std::int64_t ox = 0; ox < job.out_w; ++ox) {
      double sum = 0;
      const double* w_i = job.weights_by_k + o;
      for (std::int64_t ci = 0; ci < job.in_channels; ++ci)
        for (std::int64_t ky = 0; ky < job.kernel_h; ++ky) {
          const double* row =
              job.padded + ((ci * job.padded_h + oy * job.stride_h + ky) * job.padded_w + ox * job.stride_w);
          for (std::int64_t kx = 0; kx < job.kernel_w; ++kx, w_i += job.channels) sum += *w_i * row[kx];
        }
      job.sums[(oy * job.out_w + ox) * job.channels + o] = sum;
    }
}

// Windows: blocks of CV vectors of channels (then of one vector), TP pixels of a row at a time (then one),
// then the channels left over one by one.
template <typename V, int L, int CV, int TP>
void window_conv(const FloatWindowJob& job) {
  std::int64_t o0 = 0;
  const auto run_block = [&](auto vectors) {
    constexpr int kVectors = decltype(vectors)::value;
    for (std::int64_t oy = 0; oy < job.out_h; ++oy) {
      std::int64_t ox0 = 0;
      for (; ox0 + TP <= job.out_w; ox0 += TP) window_tile<V, L, kVectors, TP>(job, o0, oy, ox0);
      for (; ox0 < job.out_w; ++ox0) window_tile<V, L, kVectors, 1>(job, o0, oy, ox0);
    }
    o0 += kVectors * L;
  };
  while (o0 + CV * L <= job.channels) run_block(std::integral_constant<int, CV>{});
  while (o0 + L <= job.channels) run_block(std::integral_constant<int, 1>{});
  for (; o0 < job.channels; ++o0) window_channel(job, o0);
}

// The epilogue, one loop per activation and layout; the pointers copied to __restrict locals so that the
// compiler vectorises it to this unit's width.
template <FloatEpilogueJob::Act A>
inline float activated(float y) {
  if constexpr (A != FloatEpilogueJob::Act::None) y = y < 0.0f ? 0.0f : y;
  if constexpr (A == FloatEpilogueJob::Act::Relu6) y = 6.0f < y ? 6.0f : y;
  return y;
}

template <FloatEpilogueJob::Act A>
void epilogue_as(const FloatEpilogueJob& job) {
  const double* __restrict sums = job.sums;
  const float* __restrict mul = job.mul;
  const float* __restrict bias = job.bias;
  float* __restrict dst = job.dst;
  const std::size_t pixels = job.pixels, channels = job.channels;
  if (job.channels_last) {
    for (std::size_t p = 0; p < pixels; ++p) {
      const double* s = sums + p * channels;
      float* d = dst + p * job.dst_stride;
      for (std::size_t c = 0; c < channels; ++c)
        d[c] = activated<A>(static_cast<float>(s[c]) * mul[c] + bias[c]);
    }
  } else {
    for (std::size_t c = 0; c < channels; ++c) {
      const double* s = sums + c * pixels;
      float* d = dst + c * pixels;
      const float m = mul[c], b = bias[c];
      for (std::size_t p = 0; p < pixels; ++p) d[p] = activated<A>(static_cast<float>(s[p]) * m + b);
    }
  }
}

void epilogue(const FloatEpilogueJob& job) {
  switch (job.act) {
    case FloatEpilogueJob::Act::Relu:
      return epilogue_as<FloatEpilogueJob::Act::Relu>(job);
    case FloatEpilogueJob::Act::Relu6:
      return epilogue_as<FloatEpilogueJob::Act::Relu6>(job);
    case FloatEpilogueJob::Act::None:
      break;
  }
  epilogue_as<FloatEpilogueJob::Act::None>(job);
}

// Per-channel windows: channels [o0, o0 + L) in one vector's lanes, pixels (oy, ox0 .. ox0 + TP - 1), the C
// input channels' sums apart (C x TP vectors). Integer sums below 2^24: exact, in any order.
// GCC's predictive commoning keeps the inputs one kx step reuses in spilled registers, which costs more than
// it saves here; every value is an integer, so a contracted multiply-add changes nothing. (Clang has
// neither.)
#if defined(__GNUC__) && !defined(__clang__)
#define R2Q_INTEGER_TILE __attribute__((optimize("no-predictive-commoning", "fp-contract=fast")))
#else
#define R2Q_INTEGER_TILE
#endif

template <typename V, int L, int C, int TP, bool Unit>
R2Q_INTEGER_TILE void channel_tile(const CodeWindowJob& job, std::int64_t o0, std::int64_t oy,
                                   std::int64_t ox0) {
  V acc[C][TP] = {};
  const std::int64_t stride = Unit ? 1 : job.stride_w;  // a constant 1: the pixels at fixed offsets
  const std::int64_t taps = job.kernel_h * job.kernel_w, padded_plane = job.padded_h * job.padded_w;
  // The input channels innermost, so that every accumulator index is a constant and stays in a register.
  for (std::int64_t ky = 0; ky < job.kernel_h; ++ky) {
    const float* row = job.padded + ((oy * job.stride_h + ky) * job.padded_w + ox0 * stride);
    const float* w_k = job.weights_by_k + ky * job.kernel_w * job.channels + o0;
    for (std::int64_t kx = 0; kx < job.kernel_w; ++kx, w_k += job.channels)
      for (int c = 0; c < C; ++c) {
        V w;
        std::memcpy(&w, w_k + c * taps * job.channels, sizeof(V));
        const float* x = row + c * padded_plane + kx;
        for (int p = 0; p < TP; ++p) acc[c][p] += w * x[p * stride];
      }
  }
  const std::int64_t plane = job.out_h * job.out_w * job.channels;
  float* out = job.sums + (oy * job.out_w + ox0) * job.channels + o0;
  for (int c = 0; c < C; ++c)
    for (int p = 0; p < TP; ++p) std::memcpy(out + c * plane + p * job.channels, &acc[c][p], sizeof(V));
}

// One output channel, one input channel, one pixel: what the tiles leave.
inline void channel_one(const CodeWindowJob& job, std::int64_t o, std::int64_t c, std::int64_t oy,
                        std::int64_t ox) {
  const std::int64_t taps = job.kernel_h * job.kernel_w;
  float sum = 0;
  for (std::int64_t ky = 0; ky < job.kernel_h; ++ky) {
    const float* row =
        job.padded + ((c * job.padded_h + oy * job.stride_h + ky) * job.padded_w + ox * job.stride_w);
    for (std::int64_t kx = 0; kx < job.kernel_w; ++kx)
      sum += job.weights_by_k[(c * taps + ky * job.kernel_w + kx) * job.channels + o] * row[kx];
  }
  job.sums[(c * job.out_h * job.out_w + oy * job.out_w + ox) * job.channels + o] = sum;
}

// Tiles of one vector of channels by Budget / C pixels (C = 1 to 4 input channels; Budget accumulators in
// registers), the pixels and channels left one at a time; more input channels all one at a time.
template <typename V, int L, int Budget, int C, bool Unit>
void channel_sums_of(const CodeWindowJob& job) {
  constexpr int kPixels = Budget / C > 0 ? Budget / C : 1;
  std::int64_t o0 = 0;
  for (; o0 + L <= job.channels; o0 += L)
    for (std::int64_t oy = 0; oy < job.out_h; ++oy) {
      std::int64_t ox0 = 0;
      for (; ox0 + kPixels <= job.out_w; ox0 += kPixels)
        channel_tile<V, L, C, kPixels, Unit>(job, o0, oy, ox0);
      for (; ox0 < job.out_w; ++ox0) channel_tile<V, L, C, 1, Unit>(job, o0, oy, ox0);
    }
  for (std::int64_t o = o0; o < job.channels; ++o)
    for (std::int64_t oy = 0; oy < job.out_h; ++oy)
      for (std::int64_t ox = 0; ox < job.out_w; ++ox)
        for (std::int64_t c = 0; c < C; ++c) channel_one(job, o, c, oy, ox);
}

template <typename V, int L, int Budget, int C>
void channel_sums_strided(const CodeWindowJob& job) {
  if (job.stride_w == 1) return channel_sums_of<V, L, Budget, C, true>(job);
  channel_sums_of<V, L, Budget, C, false>(job);
}

template <typename V, int L, int Budget>
void channel_window_sums(const CodeWindowJob& job) {
  switch (job.in_channels) {
    case 1:
      return channel_sums_strided<V, L, Budget, 1>(job);
    case 2:
      return channel_sums_strided<V, L, Budget, 2>(job);
    case 3:
      return channel_sums_strided<V, L, Budget, 3>(job);
    case 4:
      return channel_sums_strided<V, L, Budget, 4>(job);
    default:
      break;
  }
  for (std::int64_t o = 0; o < job.channels; ++o)
    for (std::int64_t oy = 0; oy < job.out_h; ++oy)
      for (std::int64_t ox = 0; ox < job.out_w; ++ox)
        for (std::int64_t c = 0; c < job.in_channels; ++c) channel_one(job, o, c, oy, ox);
}

// The input-affine epilogue in vectors of L doubles (VD) and L floats (VF) over a row's flat [pixel][channel]
// elements, when the channels are a whole number of vectors (C input channels, 1 to 4, unrolled); element by
// element otherwise. Each element's operations are the reference's: t = +0.0, += in_mul[c] * sum for c in
// order, -= offset, then float(t) * mul + bias (two float roundings, no contraction in these units) and the
// activation.
template <typename VD, typename VF, int L, int C, FloatEpilogueJob::Act A>
void affine_epilogue_vectors(const AffineEpilogueJob& job) {
  const std::size_t count = job.pixels * job.channels, channels = job.channels;
  double m[C];
  for (int c = 0; c < C; ++c) m[c] = job.in_mul[c];
  std::size_t o = 0;  // i % channels, without a division
  for (std::size_t i = 0; i < count; i += L, o = o + L == channels ? 0 : o + L) {
    VD t = {};
    for (int c = 0; c < C; ++c) {
      VF s;
      std::memcpy(&s, job.sums + static_cast<std::size_t>(c) * job.channel_stride + i, sizeof(VF));
      t += m[c] * __builtin_convertvector(s, VD);
    }
    VD offsets;
    std::memcpy(&offsets, job.offsets + i, sizeof(VD));
    t -= offsets;
    VF mul, bias;
    std::memcpy(&mul, job.mul + o, sizeof(VF));
    std::memcpy(&bias, job.bias + o, sizeof(VF));
    VF y = __builtin_convertvector(t, VF) * mul;
    y += bias;
    if constexpr (A != FloatEpilogueJob::Act::None) y = y < 0.0f ? VF{} : y;
    if constexpr (A == FloatEpilogueJob::Act::Relu6) {
      const VF six = VF{} + 6.0f;
      y = six < y ? six : y;
    }
    std::memcpy(job.dst + i, &y, sizeof(VF));
  }
}

template <FloatEpilogueJob::Act A>
void affine_epilogue_elements(const AffineEpilogueJob& job) {
  const std::size_t count = job.pixels * job.channels, channels = job.channels;
  for (std::size_t i = 0; i < count; ++i) {
    double t = 0;
    for (std::int64_t c = 0; c < job.in_channels; ++c)
      t +=
          job.in_mul[c] * static_cast<double>(job.sums[static_cast<std::size_t>(c) * job.channel_stride + i]);
    t -= job.offsets[i];
    job.dst[i] = activated<A>(static_cast<float>(t) * job.mul[i % channels] + job.bias[i % channels]);
  }
}

template <typename VD, typename VF, int L, FloatEpilogueJob::Act A>
void affine_epilogue_as(const AffineEpilogueJob& job) {
  if (job.channels % L == 0) switch (job.in_channels) {
      case 1:
        return affine_epilogue_vectors<VD, VF, L, 1, A>(job);
      case 2:
        return affine_epilogue_vectors<VD, VF, L, 2, A>(job);
      case 3:
        return affine_epilogue_vectors<VD, VF, L, 3, A>(job);
      case 4:
        return affine_epilogue_vectors<VD, VF, L, 4, A>(job);
      default:
        break;
    }
  affine_epilogue_elements<A>(job);
}

template <typename VD, typename VF, int L>
void affine_epilogue(const AffineEpilogueJob& job) {
  switch (job.act) {
    case FloatEpilogueJob::Act::Relu:
      return affine_epilogue_as<VD, VF, L, FloatEpilogueJob::Act::Relu>(job);
    case FloatEpilogueJob::Act::Relu6:
      return affine_epilogue_as<VD, VF, L, FloatEpilogueJob::Act::Relu6>(job);
    case FloatEpilogueJob::Act::None:
      break;
  }
  affine_epilogue_as<VD, VF, L, FloatEpilogueJob::Act::None>(job);
}

}  // namespace
}  // namespace r2q::backends::cpu::detail
