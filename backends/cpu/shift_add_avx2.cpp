// The AVX2 shift-add kernel (compiled with -mavx2; run only where cpu_info() reports AVX2).
//
// AVX2 has no vector popcount, so bits are counted per nibble with a 16-entry vpshufb table (Mula's method).
// The driver stores every activation plane twice, as its low nibbles and its high nibbles (each moved to bits
// 0..3 of its byte), so a count needs no masking: per activation word, 4 output channels:
//   vpand(w, a_lo), vpand(w >> 4, a_hi), 2 x vpshufb, 2 x vpaddb into byte counters
// = 6 ALU uops for 256 one-bit products (w >> 4 is shared by the tile's pixels). Byte counters take at most
// 8 per word, so they are summed into 64-bit lanes (vpsadbw) after at most 31 words. On 3 vector ports
// (Skylake; vpshufb on p5 only, p1/p5 from Ice Lake) that is 2 cycles per step, 128 one-bit products per
// cycle = 32 MAC/cycle at W2A2; on Zen 3's 4 vector pipes 1.5 cycles, 42.7 MAC/cycle at W2A2.
#include <immintrin.h>

#include "backends/cpu/shift_add_kernel_common.h"
#include "backends/cpu/shift_add_tiles.h"

namespace r2q::backends::cpu::detail {
namespace {

constexpr int kBlock = PackedConvWeights::kBlock;
static_assert(kBlock == 8, "two ymm hold one block's eight 64-bit words");

// 4 pixels x 1 block: 8 byte counters + 4 weight registers + 2 activation broadcasts + the table = 15 of the
// 16 ymm registers; the 64-bit totals live in memory (touched once per (i, l) pair).
constexpr int kTilePixels = 4;
constexpr int kMaxWordsPerFlush = 31;  // 31 x 8 = 248 fits a byte

template <int P>
void tile(const ConvRowJob& j, int p0, int b) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,  //
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  __m256i total[P][2];
  for (int p = 0; p < P; ++p) total[p][0] = total[p][1] = _mm256_setzero_si256();

  const std::uint8_t* origin = j.origin + p0 * j.pixel_step;
  const std::uint64_t* block = j.weights + b * j.block_words;
  for (int l = 0; l < j.act_bits; ++l) {
    const std::uint8_t* low_plane = origin + l * j.plane_stride;
    const std::uint8_t* high_plane = low_plane + j.nibble_offset;
    for (int i = 0; i < j.weight_bits; ++i) {
      const std::uint64_t* w_plane = block + static_cast<std::size_t>(i) * j.words * kBlock;
      for (int t0 = 0; t0 < j.words; t0 += kMaxWordsPerFlush) {
        const int t1 = t0 + kMaxWordsPerFlush < j.words ? t0 + kMaxWordsPerFlush : j.words;
        __m256i count[P][2];
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) count[p][0] = count[p][1] = _mm256_setzero_si256();
        for (int t = t0; t < t1; ++t) {
          const std::ptrdiff_t offset = j.word_offsets[t];
          const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w_plane + t * kBlock));
          const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w_plane + t * kBlock + 4));
          const __m256i w0_high = _mm256_srli_epi64(w0, 4), w1_high = _mm256_srli_epi64(w1, 4);
#pragma GCC unroll 8
          for (int p = 0; p < P; ++p) {
            const auto a_low = static_cast<long long>(load_u64(low_plane + p * j.pixel_step + offset));
            const auto a_high = static_cast<long long>(load_u64(high_plane + p * j.pixel_step + offset));
            const __m256i lo = _mm256_set1_epi64x(a_low), hi = _mm256_set1_epi64x(a_high);
            count[p][0] = _mm256_add_epi8(
                count[p][0], _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(w0, lo)),
                                             _mm256_shuffle_epi8(table, _mm256_and_si256(w0_high, hi))));
            count[p][1] = _mm256_add_epi8(
                count[p][1], _mm256_add_epi8(_mm256_shuffle_epi8(table, _mm256_and_si256(w1, lo)),
                                             _mm256_shuffle_epi8(table, _mm256_and_si256(w1_high, hi))));
          }
        }
        const __m128i shift = _mm_cvtsi32_si128(i + l);
        const __m256i zero = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p)
          for (int h = 0; h < 2; ++h)
            total[p][h] =
                _mm256_add_epi64(total[p][h], _mm256_sll_epi64(_mm256_sad_epu8(count[p][h], zero), shift));
      }
    }
  }

  // sum_j m_j a_j = 2 T - (2^k - 1) S, which fits in 32 bits (checked by the driver): keep the low halves.
  const long long qmax = (1LL << j.weight_bits) - 1;
  const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  for (int p = 0; p < P; ++p) {
    const __m256i correction = _mm256_set1_epi64x(qmax * j.code_sums[p0 + p]);
    __m128i acc[2];
    for (int h = 0; h < 2; ++h) {
      const __m256i r = _mm256_sub_epi64(_mm256_slli_epi64(total[p][h], 1), correction);
      acc[h] = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(r, low_halves));
    }
    const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(acc[0]), acc[1], 1);
    std::int32_t* out = j.out + (p0 + p) * j.out_stride;
    const int channel = b * kBlock;
    if (j.out_channels - channel >= kBlock) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + channel), both);
    } else {
      alignas(32) std::int32_t lanes[kBlock];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), both);
      for (int c = channel; c < j.out_channels; ++c) out[c] = lanes[c - channel];
    }
  }
}

void conv_row(const ConvRowJob& j) {
  for (int b = 0; b < j.blocks; ++b)
    for_each_tile<kTilePixels>(j.pixels, [&]<int P>(int p) { tile<P>(j, p, b); });
}

}  // namespace

// Bit l of 32 codes at once: a 16-bit shift left by 7 - l puts it at the top of every byte (bits from the low
// byte never reach the high byte's top), and vpmovmskb gathers the tops. vpsadbw sums each 8 codes.
std::uint8_t pack_row_avx2(const std::uint8_t* codes, int pixels, int channels, int act_bits,
                           std::uint8_t* out, std::ptrdiff_t plane_stride, std::int32_t* pixel_sums) {
  const int n = pixels * channels, chunks_per_pixel = channels / 8;
  for (int x = 0; x < pixels; ++x) pixel_sums[x] = 0;
  const __m256i zero = _mm256_setzero_si256();
  __m256i seen = zero;
  // 32 codes from byte i, of which the first `chunks` x 8 are real.
  auto pack = [&](__m256i v, int i, int chunks) {
    seen = _mm256_or_si256(seen, v);
    for (int l = 0; l < act_bits; ++l) {
      const auto mask =
          static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_sll_epi16(v, _mm_cvtsi32_si128(7 - l))));
      std::memcpy(out + l * plane_stride + i / 8, &mask, static_cast<std::size_t>(chunks));
    }
    alignas(32) std::uint64_t sums[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums), _mm256_sad_epu8(v, zero));
    for (int q = 0; q < chunks; ++q)
      pixel_sums[(i / 8 + q) / chunks_per_pixel] += static_cast<std::int32_t>(sums[q]);
  };
  int i = 0;
  for (; i + 32 <= n; i += 32) pack(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + i)), i, 4);
  if (i < n) {  // the last 8, 16 or 24 codes, zero-padded
    alignas(32) std::uint8_t tail[32] = {};
    std::memcpy(tail, codes + i, static_cast<std::size_t>(n - i));
    pack(_mm256_load_si256(reinterpret_cast<const __m256i*>(tail)), i, (n - i) / 8);
  }
  alignas(32) std::uint8_t seen_bytes[32];
  _mm256_store_si256(reinterpret_cast<__m256i*>(seen_bytes), seen);
  std::uint8_t any = 0;
  for (std::uint8_t b : seen_bytes) any = static_cast<std::uint8_t>(any | b);
  return any;
}

const KernelTable& avx2_kernels() {
  static const KernelTable table{Isa::Avx2, pack_row_avx2,  true,         conv_row,       epilogue_row,
                                 add_codes, quantize_codes, dot_row_avx2, dot_expand_avx2};
  return table;
}

}  // namespace r2q::backends::cpu::detail
