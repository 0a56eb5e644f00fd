// The float GEMM with AVX2 (compiled with -mavx2): columns in tiles of 4 channels x 12 pixels, windows in
// tiles of 8 channels x 4 pixels; 12 and 8 ymm sums of the 16; the per-input-channel sums of pixel codes
// (float32) in tiles of 8 channels x 12 / C pixels for C input channels.
#include "backends/cpu/float_gemm_tile.h"

namespace r2q::backends::cpu::detail {

const FloatKernels& float_kernels_avx2() {
  using V = double __attribute__((vector_size(32)));
  using F = float __attribute__((vector_size(32)));
  using H = float __attribute__((vector_size(16)));  // as many floats as V has doubles
  static const FloatKernels kernels{gemm<V, 4, 4, 3>, window_conv<V, 4, 2, 4>, epilogue,
                                    channel_window_sums<F, 8, 12>, affine_epilogue<V, H, 4>};
  return kernels;
}

}  // namespace r2q::backends::cpu::detail
