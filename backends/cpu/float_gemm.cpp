// The float GEMM's portable kernels (vectors of 2 doubles: SSE2 on x86-64, plain code elsewhere) and the
// choice of kernels by ISA.
#include "backends/cpu/float_gemm.h"

#include "backends/cpu/float_gemm_tile.h"

namespace r2q::backends::cpu {
namespace detail {

const FloatKernels& float_kernels_portable() {
  using V = double __attribute__((vector_size(16)));
  // Columns: 4 channels x 8 pixels; windows: 4 channels x 4 pixels; 16 and 8 sums of the 16 SSE registers.
  static const FloatKernels kernels{gemm<V, 2, 4, 4>, window_conv<V, 2, 2, 4>, epilogue};
  return kernels;
}

}  // namespace detail

namespace {

const detail::FloatKernels& kernels_for(Isa isa) {
  switch (isa) {
#ifdef R2Q_X86_KERNELS
    case Isa::Avx512:
      return detail::float_kernels_avx512();
    case Isa::Avx2:
      return detail::float_kernels_avx2();
#endif
    default:
      return detail::float_kernels_portable();
  }
}

}  // namespace

void float_gemm(Isa isa, const FloatGemmJob& job) {
  kernels_for(isa).gemm(job);
}

void float_window_conv(Isa isa, const FloatWindowJob& job) {
  kernels_for(isa).window_conv(job);
}

void float_epilogue(Isa isa, const FloatEpilogueJob& job) {
  kernels_for(isa).epilogue(job);
}

}  // namespace r2q::backends::cpu
