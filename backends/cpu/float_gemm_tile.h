// The float GEMM's loops, included by each ISA's translation unit (float_gemm*.cpp) and compiled there with
// that ISA's flags; everything is in an anonymous namespace, so no ISA's copy can stand in for another's.
// GCC vector types hold L doubles of a tile row: with -mavx512f L = 8 is one zmm, with -mavx2 L = 4 one ymm.
#pragma once

#include <cstring>
#include <type_traits>

#include "backends/cpu/float_gemm.h"

namespace r2q::backends::cpu::detail {
namespace {

// Rows [o0, o0 + TO) by pixels [p0, p0 + NV L): TO x NV vectors of sums stay in registers while i runs over
// k, ascending, so each pixel's additions are the reference's. V is a GCC vector of L doubles.
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
  for (int r = 0; r < TO; ++r) {
    double* out = job.sums + static_cast<std::size_t>(o0 + r) * job.channel_stride + p0 * job.pixel_stride;
    for (int v = 0; v < NV; ++v) {
      if (job.pixel_stride == 1) {
        std::memcpy(out + v * L, &acc[r][v], sizeof(V));
        continue;
      }
      for (int e = 0; e < L; ++e) out[static_cast<std::size_t>(v * L + e) * job.pixel_stride] = acc[r][v][e];
    }
  }
}

// One output, the reference's loop: for the pixels and channels no tile covers.
void gemm_one(const FloatGemmJob& job, std::int64_t o, std::size_t p) {
  const float* w = job.weights + o * job.k;
  double sum = 0;
  for (std::int64_t i = 0; i < job.k; ++i)
    sum += static_cast<double>(w[i]) * job.columns[static_cast<std::size_t>(i) * job.pixels + p];
  job.sums[static_cast<std::size_t>(o) * job.channel_stride + p * job.pixel_stride] = sum;
}

// Pixels of channels with weights_by_k: channels [o0, o0 + NV L) in the lanes of NV vectors, TP pixels, so
// that each pixel's sums are stored as they lie. Each lane still sums its own channel's terms in order of i.
template <typename V, int L, int NV, int TP>
void gemm_tile_channels(const FloatGemmJob& job, std::int64_t o0, std::size_t p0) {
  V acc[TP][NV] = {};
  for (std::int64_t i = 0; i < job.k; ++i) {
    const double* wrow = job.weights_by_k + static_cast<std::size_t>(i * job.channels + o0);
    V w[NV];
    for (int v = 0; v < NV; ++v) std::memcpy(&w[v], wrow + v * L, sizeof(V));
    const double* column = job.columns + static_cast<std::size_t>(i) * job.pixels + p0;
    for (int p = 0; p < TP; ++p) {
      const double x = column[p];
      for (int v = 0; v < NV; ++v) acc[p][v] += w[v] * x;
    }
  }
  for (int p = 0; p < TP; ++p)
    for (int v = 0; v < NV; ++v)
      std::memcpy(job.sums + (p0 + p) * job.pixel_stride + static_cast<std::size_t>(o0 + v * L), &acc[p][v],
                  sizeof(V));
}

// Channels [o_begin, o_end) in tiles of TO channels x NV L pixels, then single-vector tiles of the same
// channels, then one output at a time.
template <typename V, int L, int TO, int NV>
void gemm_pixel_lanes(const FloatGemmJob& job, std::int64_t o_begin, std::int64_t o_end) {
  constexpr std::size_t kWide = static_cast<std::size_t>(NV) * L;
  std::int64_t o0 = o_begin;
  for (; o0 + TO <= o_end; o0 += TO) {
    std::size_t p0 = 0;
    for (; p0 + kWide <= job.pixels; p0 += kWide) gemm_tile<V, L, TO, NV>(job, o0, p0);
    for (; p0 + L <= job.pixels; p0 += L) gemm_tile<V, L, TO, 1>(job, o0, p0);
    for (std::int64_t o = o0; o < o0 + TO; ++o)
      for (std::size_t p = p0; p < job.pixels; ++p) gemm_one(job, o, p);
  }
  for (; o0 < o_end; ++o0) {
    std::size_t p0 = 0;
    for (; p0 + kWide <= job.pixels; p0 += kWide) gemm_tile<V, L, 1, NV>(job, o0, p0);
    for (; p0 < job.pixels; ++p0) gemm_one(job, o0, p0);
  }
}

// Pixels of channels with weights_by_k: blocks of CV vectors of channels (then of one) with the channels in
// the lanes, TP pixels at a time (then one); the channels left over (fewer than L) by pixel lanes.
template <typename V, int L, int CV, int TP>
void gemm_channel_lanes(const FloatGemmJob& job) {
  std::int64_t o0 = 0;
  const auto run_block = [&](auto vectors) {
    constexpr int kVectors = decltype(vectors)::value;
    std::size_t p0 = 0;
    for (; p0 + TP <= job.pixels; p0 += TP) gemm_tile_channels<V, L, kVectors, TP>(job, o0, p0);
    for (; p0 < job.pixels; ++p0) gemm_tile_channels<V, L, kVectors, 1>(job, o0, p0);
    o0 += kVectors * L;
  };
  while (o0 + CV * L <= job.channels) run_block(std::integral_constant<int, CV>{});
  while (o0 + L <= job.channels) run_block(std::integral_constant<int, 1>{});
  gemm_pixel_lanes<V, L, 1, 1>(job, o0, job.channels);
}

// Windows: channels [o0, o0 + NV L) in the lanes, output pixels (oy, ox0 .. ox0 + TP - 1) of one row, the
// columns read in place. The terms come in the order of i = (ci, ky, kx), as from the columns.
template <typename V, int L, int NV, int TP>
void window_tile_channels(const FloatGemmJob& job, std::int64_t o0, std::int64_t oy, std::int64_t ox0) {
  const FloatWindows& win = *job.windows;
  V acc[TP][NV] = {};
  const double* w_i = job.weights_by_k + o0;
  const std::int64_t in_channels = job.k / (win.kernel_h * win.kernel_w);
  for (std::int64_t ci = 0; ci < in_channels; ++ci)
    for (std::int64_t ky = 0; ky < win.kernel_h; ++ky) {
      const double* row =
          win.padded + ((ci * win.padded_h + oy * win.stride_h + ky) * win.padded_w + ox0 * win.stride_w);
      for (std::int64_t kx = 0; kx < win.kernel_w; ++kx, w_i += job.channels) {
        V w[NV];
        for (int v = 0; v < NV; ++v) std::memcpy(&w[v], w_i + v * L, sizeof(V));
        for (int p = 0; p < TP; ++p) {
          const double x = row[p * win.stride_w + kx];
          for (int v = 0; v < NV; ++v) acc[p][v] += w[v] * x;
        }
      }
    }
  const std::size_t p0 = static_cast<std::size_t>(oy * win.out_w + ox0);
  for (int p = 0; p < TP; ++p)
    for (int v = 0; v < NV; ++v)
      std::memcpy(job.sums + (p0 + p) * job.pixel_stride + static_cast<std::size_t>(o0 + v * L), &acc[p][v],
                  sizeof(V));
}

// Windows, one output channel at a time: the channels fewer than a vector that the tiles leave.
void window_one(const FloatGemmJob& job, std::int64_t o) {
  const FloatWindows& win = *job.windows;
  const std::int64_t in_channels = job.k / (win.kernel_h * win.kernel_w);
  for (std::size_t p = 0; p < job.pixels; ++p) {
    const std::int64_t oy = static_cast<std::int64_t>(p) / win.out_w,
                       ox = static_cast<std::int64_t>(p) % win.out_w;
    double sum = 0;
    std::int64_t i = 0;
    for (std::int64_t ci = 0; ci < in_channels; ++ci)
      for (std::int64_t ky = 0; ky < win.kernel_h; ++ky)
        for (std::int64_t kx = 0; kx < win.kernel_w; ++kx, ++i)
          sum += job.weights_by_k[static_cast<std::size_t>(i * job.channels + o)] *
                 win.padded[(ci * win.padded_h + oy * win.stride_h + ky) * win.padded_w + ox * win.stride_w +
                            kx];
    job.sums[p * job.pixel_stride + static_cast<std::size_t>(o)] = sum;
  }
}

template <typename V, int L, int CV, int TP>
void gemm_windows(const FloatGemmJob& job) {
  const std::int64_t out_w = job.windows->out_w;
  const std::int64_t out_h = out_w > 0 ? static_cast<std::int64_t>(job.pixels) / out_w : 0;
  std::int64_t o0 = 0;
  const auto run_block = [&](auto vectors) {
    constexpr int kVectors = decltype(vectors)::value;
    for (std::int64_t oy = 0; oy < out_h; ++oy) {
      std::int64_t ox0 = 0;
      for (; ox0 + TP <= out_w; ox0 += TP) window_tile_channels<V, L, kVectors, TP>(job, o0, oy, ox0);
      for (; ox0 < out_w; ++ox0) window_tile_channels<V, L, kVectors, 1>(job, o0, oy, ox0);
    }
    o0 += kVectors * L;
  };
  while (o0 + CV * L <= job.channels) run_block(std::integral_constant<int, CV>{});
  while (o0 + L <= job.channels) run_block(std::integral_constant<int, 1>{});
  for (; o0 < job.channels; ++o0) window_one(job, o0);
}

// The kernel of one ISA: channel lanes (CV x TP) where the sums are pixels of channels and the weights come
// by k (the columns read in place where windows are given), pixel lanes (TO x NV) otherwise.
template <typename V, int L, int TO, int NV, int CV, int TP>
void gemm(const FloatGemmJob& job) {
  const bool channel_lanes = job.weights_by_k != nullptr && job.channel_stride == 1 &&
                             job.pixel_stride == static_cast<std::size_t>(job.channels);
  if (channel_lanes && job.windows != nullptr)
    gemm_windows<V, L, CV, TP>(job);
  else if (channel_lanes)
    gemm_channel_lanes<V, L, CV, TP>(job);
  else
    gemm_pixel_lanes<V, L, TO, NV>(job, 0, job.channels);
}

}  // namespace
}  // namespace r2q::backends::cpu::detail
