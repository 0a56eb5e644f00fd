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

IntSums int_window_sums_for([[maybe_unused]] Isa isa, std::int64_t in_channels, std::int64_t kernel_w,
                            std::int64_t channels, std::int64_t max_code, std::int64_t max_abs_weight) {
  if (in_channels < 1 || in_channels > 4 || kernel_w > 4 || max_code > 255 || max_abs_weight > 128)
    return IntSums::None;
#ifdef R2Q_X86_KERNELS
  const CpuInfo& cpu = cpu_info();
  if (isa == Isa::Avx512 && cpu.avx512_vnni && channels % 16 == 0) return IntSums::Bytes;
  if ((isa == Isa::Avx2 || isa == Isa::Avx512) && cpu.avx2 && channels % 8 == 0) return IntSums::Words;
#endif
  static_cast<void>(channels);
  return IntSums::None;
}

void byte_window_sums([[maybe_unused]] const ByteWindowJob& job) {
#ifdef R2Q_X86_KERNELS
  detail::byte_window_sums_vnni(job);
#endif
}

void word_window_sums([[maybe_unused]] const WordWindowJob& job) {
#ifdef R2Q_X86_KERNELS
  detail::word_window_sums_avx2(job);
#endif
}

void channel_window_sums(Isa isa, const CodeWindowJob& job) {
  kernels_for(isa).channel_window_sums(job);
}

void affine_epilogue(Isa isa, const AffineEpilogueJob& job) {
  kernels_for(isa).affine_epilogue(job);
}

}  // namespace r2q::backends::cpu
