// The float GEMM's portable kernels (vectors of 2 doubles: SSE2 on x86-64, plain code elsewhere) and the
// choice of kernels by ISA.
#include "backends/cpu/float_gemm.h"

#include "backends/cpu/float_gemm_tile.h"
#include "core/util/cpu.h"

namespace r2q::backends::cpu {
namespace detail {

const FloatKernels& float_kernels_portable() {
  using V = double __attribute__((vector_size(16)));
  using F = float __attribute__((vector_size(16)));
  using H = float __attribute__((vector_size(8)));  // as many floats as V has doubles
  // Columns: 4 channels x 8 pixels; windows: 4 channels x 4 pixels; 16 and 8 sums of the 16 SSE registers.
  static const FloatKernels kernels{gemm<V, 2, 4, 4>, window_conv<V, 2, 2, 4>, epilogue,
                                    channel_window_sums<F, 4, 12>, affine_epilogue<V, H, 2>};
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

bool byte_window_suits([[maybe_unused]] Isa isa, [[maybe_unused]] std::int64_t in_channels,
                       [[maybe_unused]] std::int64_t kernel_w, [[maybe_unused]] std::int64_t channels,
                       [[maybe_unused]] std::int64_t max_code, [[maybe_unused]] std::int64_t max_abs_weight) {
#ifdef R2Q_X86_KERNELS
  return isa == Isa::Avx512 && cpu_info().avx512_vnni && in_channels >= 1 && in_channels <= 4 &&
         kernel_w <= 4 && channels % 16 == 0 && max_code <= 255 && max_abs_weight <= 128;  // s8: [-128, 127]
#else
  return false;
#endif
}

void byte_window_sums([[maybe_unused]] const ByteWindowJob& job) {
#ifdef R2Q_X86_KERNELS
  detail::byte_window_sums_vnni(job);
#endif
}

void channel_window_sums(Isa isa, const CodeWindowJob& job) {
  kernels_for(isa).channel_window_sums(job);
}

void affine_epilogue(Isa isa, const AffineEpilogueJob& job) {
  kernels_for(isa).affine_epilogue(job);
}

}  // namespace r2q::backends::cpu
