// The dot-product kernel for layers with few input channels (compiled with -mavx512f -mavx512bw
// -mavx512vnni; run only where cpu_info() reports AVX-512 VNNI).
//
// vpdpbusd adds, in each of 16 int32 lanes, four u8 x s8 products: one activation chunk (4 consecutive input
// channels of one tap, broadcast to every lane) times 16 output channels' 4 weight codes (one zmm). The sums
// are exact: each product is at most 255 x 15 and the driver checks that a whole patch fits int32. One
// instruction does 64 MACs whatever the bit widths, where the bit-planes do 512 one-bit products per 3 uops,
// 42.7 W2A2 MACs, less the K padding and the shift-add of k l partial counts: so it wins where channels are
// few and bits many (dot_product_suits, measured).
//
// The same source compiles against SIMDe's emulation (R2Q_EMULATE_AVX512, tests only).
#ifdef R2Q_EMULATE_AVX512
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#else
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>

#include "backends/cpu/shift_add_kernels.h"
#include "backends/cpu/shift_add_tiles.h"

namespace r2q::backends::cpu::detail {
namespace {

constexpr int kDotBlock = PackedConvWeights::kDotBlock;
static_assert(kDotBlock == 16, "one zmm holds one block's 16 int32 lanes");

inline std::int32_t load_u32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// P pixels x B blocks: P B accumulators + B weights + 1 broadcast zmm.
template <int P, int B>
void tile(const DotRowJob& j, int p0, int b0) {
  __m512i acc[P][B];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
    for (int b = 0; b < B; ++b) acc[p][b] = _mm512_setzero_si512();

  const std::uint8_t* origin = j.origin + p0 * j.pixel_step;
  const std::int8_t* block0 = j.weights + static_cast<std::size_t>(b0) * j.block_bytes;
  for (int t = 0; t < j.chunks; ++t) {
    const std::uint8_t* chunk = origin + j.chunk_offsets[t];
    __m512i w[B];
#pragma GCC unroll 4
    for (int b = 0; b < B; ++b) w[b] = _mm512_load_si512(block0 + b * j.block_bytes + t * kDotBlock * 4);
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p) {
      const __m512i a = _mm512_set1_epi32(load_u32(chunk + p * j.pixel_step));
#pragma GCC unroll 4
      for (int b = 0; b < B; ++b) acc[p][b] = _mm512_dpbusd_epi32(acc[p][b], a, w[b]);
    }
  }

#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
    std::int32_t* out = j.out + (p0 + p) * j.out_stride;
#pragma GCC unroll 4
    for (int b = 0; b < B; ++b) {
      const int channel = (b0 + b) * kDotBlock;
      if (j.out_channels - channel >= kDotBlock) {
        _mm512_storeu_si512(out + channel, acc[p][b]);
      } else {
        alignas(64) std::int32_t lanes[kDotBlock];
        _mm512_store_si512(lanes, acc[p][b]);
        for (int c = channel; c < j.out_channels; ++c) out[c] = lanes[c - channel];
      }
    }
  }
}

template <int P, int B>
void pixels(const DotRowJob& j, int b0) {
  for_each_tile<P>(j.pixels, [&]<int N>(int p) { tile<N, B>(j, p, b0); });
}

void dot_row(const DotRowJob& j) {
  int b = 0;
  for (; b + 4 <= j.blocks; b += 4) pixels<4, 4>(j, b);
  for (; b + 2 <= j.blocks; b += 2) pixels<8, 2>(j, b);
  if (b < j.blocks) pixels<16, 1>(j, b);
}

// Byte j of vector z: u = sum_i 2^i (bit j of mask z k + i), m = 2 u - (2^k - 1). 3 k + 2 uops per vector.
void dot_expand(const std::uint64_t* bits, std::size_t vectors, int k, std::int8_t* out) {
  const __m512i qmax = _mm512_set1_epi8(static_cast<char>((1 << k) - 1));
  for (std::size_t z = 0; z < vectors; ++z) {
    __m512i u = _mm512_setzero_si512();
    for (int i = 0; i < k; ++i)
      u = _mm512_add_epi8(
          u, _mm512_maskz_mov_epi8(bits[z * k + i], _mm512_set1_epi8(static_cast<char>(1 << i))));
    _mm512_store_si512(out + 64 * z, _mm512_sub_epi8(_mm512_add_epi8(u, u), qmax));
  }
}

}  // namespace

#ifdef R2Q_EMULATE_AVX512
void dot_row_avx512_vnni_emulated(const DotRowJob& job) {
  dot_row(job);
}
void dot_expand_avx512_emulated(const std::uint64_t* bits, std::size_t vectors, int weight_bits,
                                std::int8_t* out) {
  dot_expand(bits, vectors, weight_bits, out);
}
#else
void dot_row_avx512_vnni(const DotRowJob& job) {
  dot_row(job);
}
void dot_expand_avx512(const std::uint64_t* bits, std::size_t vectors, int weight_bits, std::int8_t* out) {
  dot_expand(bits, vectors, weight_bits, out);
}
#endif

}  // namespace r2q::backends::cpu::detail
