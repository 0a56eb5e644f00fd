// The dot-product kernel on AVX2 (compiled with -mavx2; every AVX2 CPU runs it): the layout and the driver
// of the AVX-512 VNNI kernel (shift_add_dot_avx512.cpp), without VNNI.
//
// vpmaddubsw multiplies 32 u8 activation codes by 32 s8 weight codes and adds adjacent pairs into 16 s16
// lanes; a 16-output-channel block is two ymm (channels 0-7 and 8-15, 4 codes each). The s16 pair sums are
// added up in s16 for `flush_chunks` chunks (the driver bounds them: 2 x amax x wmax per chunk, 32767 in
// all), then widened into s32 by vpmaddwd against ones. Exact throughout: pairs of products of at most 255
// x 15 do not saturate, and no s16 sum exceeds 32767. 2 uops per 32 MACs (vpmaddubsw on the two multiply
// ports, vpaddw on any): up to 64 MACs a cycle whatever the bit widths, where the bit-planes spend 6 uops per
// 256 one-bit products (32-43 W2A2 MACs a cycle, less the K padding).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backends/cpu/shift_add_kernels.h"
#include "backends/cpu/shift_add_tiles.h"

namespace r2q::backends::cpu::detail {
namespace {

constexpr int kDotBlock = PackedConvWeights::kDotBlock;
static_assert(kDotBlock == 16, "two ymm of 8 int32 lanes hold one block");

inline std::int32_t load_u32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// P pixels of one block: 2 P s16 sums in registers, their s32 totals on the stack (touched at flushes).
template <int P>
void tile(const DotRowJob& j, int p0, int b) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i total[P][2], sum[P][2];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) total[p][0] = total[p][1] = sum[p][0] = sum[p][1] = _mm256_setzero_si256();

  const std::uint8_t* origin = j.origin + p0 * j.pixel_step;
  const std::int8_t* block = j.weights + static_cast<std::size_t>(b) * j.block_bytes;
  for (int t0 = 0; t0 < j.chunks; t0 += j.flush_chunks) {
    const int t1 = t0 + j.flush_chunks < j.chunks ? t0 + j.flush_chunks : j.chunks;
    for (int t = t0; t < t1; ++t) {
      const std::uint8_t* chunk = origin + j.chunk_offsets[t];
      const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(block + t * kDotBlock * 4));
      const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(block + t * kDotBlock * 4 + 32));
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        const __m256i a = _mm256_set1_epi32(load_u32(chunk + p * j.pixel_step));
        sum[p][0] = _mm256_add_epi16(sum[p][0], _mm256_maddubs_epi16(a, w0));
        sum[p][1] = _mm256_add_epi16(sum[p][1], _mm256_maddubs_epi16(a, w1));
      }
    }
#pragma GCC unroll 8
    for (int p = 0; p < P; ++p)
      for (int h = 0; h < 2; ++h) {
        total[p][h] = _mm256_add_epi32(total[p][h], _mm256_madd_epi16(sum[p][h], ones));
        sum[p][h] = _mm256_setzero_si256();
      }
  }

#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
    std::int32_t* out = j.out + (p0 + p) * j.out_stride;
    const int channel = b * kDotBlock;
    if (j.out_channels - channel >= kDotBlock) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + channel), total[p][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + channel + 8), total[p][1]);
    } else {
      alignas(32) std::int32_t lanes[kDotBlock];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), total[p][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8), total[p][1]);
      for (int c = channel; c < j.out_channels; ++c) out[c] = lanes[c - channel];
    }
  }
}

constexpr int kTilePixels = 4;  // 8 s16 sums + 2 weights + 1 broadcast of the 16 ymm

void dot_row(const DotRowJob& j) {
  for (int b = 0; b < j.blocks; ++b)
    for_each_tile<kTilePixels>(j.pixels, [&]<int P>(int p) { tile<P>(j, p, b); });
}

// Byte j of vector z: u = sum_i 2^i (bit j of mask z k + i), m = 2 u - (2^k - 1); per 32-byte half, each
// mask byte is spread over 8 bytes (vpshufb) and its bits picked out (vpand, vpcmpeqb).
void dot_expand(const std::uint64_t* bits, std::size_t vectors, int k, std::int8_t* out) {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i select = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i qmax = _mm256_set1_epi8(static_cast<char>((1 << k) - 1));
  for (std::size_t z = 0; z < vectors; ++z)
    for (int h = 0; h < 2; ++h) {
      __m256i u = _mm256_setzero_si256();
      for (int i = 0; i < k; ++i) {
        const auto half = static_cast<std::int32_t>(bits[z * k + i] >> (32 * h));
        const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(half), spread);
        const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, select), select);
        u = _mm256_add_epi8(u, _mm256_and_si256(set, _mm256_set1_epi8(static_cast<char>(1 << i))));
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(out + 64 * z + 32 * h),
                         _mm256_sub_epi8(_mm256_add_epi8(u, u), qmax));
    }
}

}  // namespace

void dot_row_avx2(const DotRowJob& job) {
  dot_row(job);
}

void dot_expand_avx2(const std::uint64_t* bits, std::size_t vectors, int weight_bits, std::int8_t* out) {
  dot_expand(bits, vectors, weight_bits, out);
}

}  // namespace r2q::backends::cpu::detail
