// The float GEMM's portable kernel (vectors of 2 doubles: SSE2 on x86-64, plain code elsewhere) and the
// choice of kernel by ISA.
#include "backends/cpu/float_gemm.h"

#include "backends/cpu/float_gemm_tile.h"

namespace r2q::backends::cpu {
namespace detail {

void float_gemm_portable(const FloatGemmJob& job) {
  using V = double __attribute__((vector_size(16)));
  gemm<V, 2, 4, 4, 2, 4>(job);  // 16 or 8 two-lane sums of the 16 SSE registers
}

}  // namespace detail

void float_gemm(Isa isa, const FloatGemmJob& job) {
  switch (isa) {
#ifdef R2Q_X86_KERNELS
    case Isa::Avx512:
      return detail::float_gemm_avx512(job);
    case Isa::Avx2:
      return detail::float_gemm_avx2(job);
#endif
    default:
      return detail::float_gemm_portable(job);
  }
}

}  // namespace r2q::backends::cpu
