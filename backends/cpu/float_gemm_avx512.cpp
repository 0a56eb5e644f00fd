// The float GEMM with AVX-512F (compiled with -mavx512f): pixel lanes in tiles of 8 channels x 16 pixels
// (each step two column loads and eight weight broadcasts), channel lanes in tiles of 16 channels x 8 pixels
// (two weight loads and eight column broadcasts): 16 zmm sums of the 32, sixteen multiply-adds a step.
#include "backends/cpu/float_gemm_tile.h"

namespace r2q::backends::cpu::detail {

void float_gemm_avx512(const FloatGemmJob& job) {
  using V = double __attribute__((vector_size(64)));
  gemm<V, 8, 8, 2, 2, 8>(job);
}

}  // namespace r2q::backends::cpu::detail
