// The float GEMM with AVX2 (compiled with -mavx2): columns in tiles of 4 channels x 12 pixels, windows in
// tiles of 8 channels x 4 pixels; 12 and 8 ymm sums of the 16.
#include "backends/cpu/float_gemm_tile.h"

namespace r2q::backends::cpu::detail {

const FloatKernels& float_kernels_avx2() {
  using V = double __attribute__((vector_size(32)));
  static const FloatKernels kernels{gemm<V, 4, 4, 3>, window_conv<V, 4, 2, 4>, epilogue};
  return kernels;
}

}  // namespace r2q::backends::cpu::detail
