// The float GEMM with AVX2 (compiled with -mavx2): pixel lanes in tiles of 4 channels x 12 pixels, channel
// lanes in tiles of 8 channels x 4 pixels; 12 and 8 ymm sums of the 16.
#include "backends/cpu/float_gemm_tile.h"

namespace r2q::backends::cpu::detail {

void float_gemm_avx2(const FloatGemmJob& job) {
  using V = double __attribute__((vector_size(32)));
  gemm<V, 4, 4, 3, 2, 4>(job);
}

}  // namespace r2q::backends::cpu::detail
