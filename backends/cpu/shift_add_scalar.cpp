// The portable shift-add kernel: the reference path, and the fallback on CPUs without AVX2.
#include <algorithm>
#include <bit>

#include "backends/cpu/shift_add_kernel_common.h"

namespace r2q::backends::cpu::detail {
namespace {

constexpr int kBlock = PackedConvWeights::kBlock;

// For each pixel and output channel: T = sum_{l,i} 2^(i+l) sum_t popcount(u_i[t] AND c_l[t]); then
// sum_j m_j a_j = 2 T - (2^k - 1) S with S the patch's code sum (DESIGN §1.3, the popcount(c_l) terms
// summed over i and l).
void conv_row(const ConvRowJob& j) {
  const std::int64_t qmax = (std::int64_t{1} << j.weight_bits) - 1;
  for (int p = 0; p < j.pixels; ++p) {
    const std::uint8_t* origin = j.origin + p * j.pixel_step;
    for (int b = 0; b < j.blocks; ++b) {
      const std::uint64_t* block = j.weights + b * j.block_words;
      std::int64_t total[kBlock] = {};
      for (int l = 0; l < j.act_bits; ++l) {
        const std::uint8_t* plane = origin + l * j.plane_stride;
        for (int i = 0; i < j.weight_bits; ++i) {
          const std::uint64_t* w = block + static_cast<std::size_t>(i) * j.words * kBlock;
          std::int64_t count[kBlock] = {};
          for (int t = 0; t < j.words; ++t) {
            const std::uint64_t a = load_u64(plane + j.word_offsets[t]);
            for (int lane = 0; lane < kBlock; ++lane) count[lane] += std::popcount(a & w[t * kBlock + lane]);
          }
          for (int lane = 0; lane < kBlock; ++lane) total[lane] += count[lane] << (i + l);
        }
      }
      const int valid = std::min(kBlock, j.out_channels - b * kBlock);
      std::int32_t* out = j.out + p * j.out_stride + b * kBlock;
      for (int lane = 0; lane < valid; ++lane)
        out[lane] = static_cast<std::int32_t>(2 * total[lane] - qmax * j.code_sums[p]);
    }
  }
}

}  // namespace

const KernelTable& scalar_kernels() {
  static const KernelTable table{Isa::Scalar,  pack_row_portable, false,         conv_row,
                                 epilogue_row, add_codes,         quantize_codes};
  return table;
}

}  // namespace r2q::backends::cpu::detail
