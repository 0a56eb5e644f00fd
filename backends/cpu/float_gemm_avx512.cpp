// The float GEMM with AVX-512F (compiled with -mavx512f): columns in tiles of 8 channels x 16 pixels (each
// step two column loads and eight weight broadcasts), windows in tiles of 16 channels x 8 pixels (two weight
// loads and eight input broadcasts): 16 zmm sums of the 32, sixteen multiply-adds a step. The per-input-
// channel sums of pixel codes (float32) in tiles of 16 channels x 24 / C pixels for C input channels.
#include "backends/cpu/float_gemm_tile.h"

namespace r2q::backends::cpu::detail {

const FloatKernels& float_kernels_avx512() {
  using V = double __attribute__((vector_size(64)));
  using F = float __attribute__((vector_size(64)));
  using H = float __attribute__((vector_size(32)));  // as many floats as V has doubles
  static const FloatKernels kernels{gemm<V, 8, 8, 2>, window_conv<V, 8, 2, 8>, epilogue,
                                    channel_window_sums<F, 16, 24>, affine_epilogue<V, H, 8>};
  return kernels;
}

}  // namespace r2q::backends::cpu::detail
