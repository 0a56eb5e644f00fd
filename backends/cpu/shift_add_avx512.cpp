// The AVX-512 VPOPCNTDQ shift-add kernel (compiled with -mavx512f -mavx512bw -mavx512vpopcntdq; run only
// where cpu_info() reports all three).
//
// Roofline. The inner step takes one 64-bit activation word (plane l, patch word t) broadcast to a zmm, and
// one zmm of weight words (plane i, word t) of 8 output channels:
//   vpandq (p0/p5) -> vpopcntq (p5) -> vpaddq into a per-(i, l) accumulator (p0/p5)
// 3 vector ALU uops. With 512-bit uops in flight Intel server cores (Ice Lake-SP, Sapphire Rapids) issue
// vector ALU work on p0 and p5 only, so a step costs >= 1.5 cycles and does 64 x 8 = 512 one-bit products.
// A k-bit x l-bit MAC is k * l one-bit products, so
//   peak = 512 / 1.5 / (k l) = 341 / (k l) MAC/cycle: 85.3 at W2A2, 42.7 at W2A4, 341 at W1A1.
// (For scale: VNNI's vpdpbusd does 64 u8 x s8 MACs per uop, on p0 or p0/p5: 64..128 MAC/cycle.)
// Loads are not the limit: a P x B tile (P pixels, B blocks of 8 channels) does P broadcasts and B weight
// loads per 3 P B ALU uops; 4 x 2 gives 6 loads per 12 cycles. Not counted in the peak, and so the
// difference between it and a measurement: the K padding (ResNet-20: 16 input channels use 144 of 192 patch
// bits, 32 use 288 of 384, 64 use 576 of 576), the shift-add of each (i, l) accumulator into the total, the
// activation packing, the code sums and the epilogue. Percent of peak = (MAC/s / clock) / (341 / (k l)).
//
// The same source compiles against SIMDe's emulation (R2Q_EMULATE_AVX512, tests only) so that the kernel's
// logic is tested on machines without AVX-512.
#ifdef R2Q_EMULATE_AVX512
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#else
#include <immintrin.h>
#endif

#include "backends/cpu/shift_add_kernel_common.h"
#include "backends/cpu/shift_add_tiles.h"

namespace r2q::backends::cpu::detail {
namespace {

constexpr int kBlock = PackedConvWeights::kBlock;
static_assert(kBlock == 8, "one zmm holds one block's eight 64-bit words");

// Pixels and blocks per tile: 2 P B accumulators (per (i, l) and total) + B weights + 1 broadcast = 19 of
// the 32 zmm registers at 4 x 2.
constexpr int kTilePixels = 4;
constexpr int kTileBlocks = 2;

template <int P, int B>
void tile(const ConvRowJob& j, int p0, int b0) {
  __m512i total[P][B];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 8
    for (int b = 0; b < B; ++b) total[p][b] = _mm512_setzero_si512();

  const std::uint8_t* origin = j.origin + p0 * j.pixel_step;
  const std::uint64_t* block0 = j.weights + b0 * j.block_words;
  for (int l = 0; l < j.act_bits; ++l) {
    const std::uint8_t* plane = origin + l * j.plane_stride;
    for (int i = 0; i < j.weight_bits; ++i) {
      const std::uint64_t* w_plane = block0 + static_cast<std::size_t>(i) * j.words * kBlock;
      __m512i count[P][B];
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p)
#pragma GCC unroll 8
        for (int b = 0; b < B; ++b) count[p][b] = _mm512_setzero_si512();
      for (int t = 0; t < j.words; ++t) {
        const std::uint8_t* a_word = plane + j.word_offsets[t];
        __m512i w[B];
#pragma GCC unroll 8
        for (int b = 0; b < B; ++b) w[b] = _mm512_load_si512(w_plane + b * j.block_words + t * kBlock);
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) {
          const __m512i a = _mm512_set1_epi64(static_cast<long long>(load_u64(a_word + p * j.pixel_step)));
#pragma GCC unroll 8
          for (int b = 0; b < B; ++b)
            count[p][b] = _mm512_add_epi64(count[p][b], _mm512_popcnt_epi64(_mm512_and_si512(a, w[b])));
        }
      }
      const __m128i shift = _mm_cvtsi32_si128(i + l);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p)
#pragma GCC unroll 8
        for (int b = 0; b < B; ++b)
          total[p][b] = _mm512_add_epi64(total[p][b], _mm512_sll_epi64(count[p][b], shift));
    }
  }

  // sum_j m_j a_j = 2 T - (2^k - 1) S; it fits in 32 bits (checked by the driver), so vpmovqd truncates
  // nothing.
  const long long qmax = (1LL << j.weight_bits) - 1;
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) {
    const __m512i correction = _mm512_set1_epi64(qmax * j.code_sums[p0 + p]);
    std::int32_t* out = j.out + (p0 + p) * j.out_stride;
#pragma GCC unroll 8
    for (int b = 0; b < B; ++b) {
      const __m256i acc =
          _mm512_cvtepi64_epi32(_mm512_sub_epi64(_mm512_slli_epi64(total[p][b], 1), correction));
      const int channel = (b0 + b) * kBlock;
      if (j.out_channels - channel >= kBlock) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + channel), acc);
      } else {
        alignas(32) std::int32_t lanes[kBlock];
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
        for (int c = channel; c < j.out_channels; ++c) out[c] = lanes[c - channel];
      }
    }
  }
}

template <int B>
void pixels(const ConvRowJob& j, int b0) {
  for_each_tile<kTilePixels>(j.pixels, [&]<int P>(int p) { tile<P, B>(j, p, b0); });
}

void conv_row(const ConvRowJob& j) {
  static_assert(kTileBlocks == 2, "the remainder below handles one leftover block");
  int b = 0;
  for (; b + kTileBlocks <= j.blocks; b += kTileBlocks) pixels<kTileBlocks>(j, b);
  if (b < j.blocks) pixels<1>(j, b);
}

}  // namespace

// Every CPU with AVX-512BW has AVX2, whose packer is already as fast as the packing needs to be.
#ifdef R2Q_EMULATE_AVX512
const KernelTable& avx512_emulated_kernels() {
  static const KernelTable table{Isa::Avx512,  pack_row_portable, false,         conv_row,
                                 epilogue_row, add_codes,         quantize_codes};
  return table;
}
#else
const KernelTable& avx512_kernels() {
  static const KernelTable table{Isa::Avx512,  pack_row_avx2, false,         conv_row,
                                 epilogue_row, add_codes,     quantize_codes};
  return table;
}
#endif

}  // namespace r2q::backends::cpu::detail
