// The per-input-channel window sums of an input-affine layer (float_gemm.h's channel_window_sums) with
// AVX-512 VNNI on the codes as bytes (compiled with -mavx512f -mavx512bw -mavx512vnni; run only where
// cpu_info() reports AVX-512 VNNI): one vpdpbusd adds, for 16 output channels, one kernel row of up to four
// taps, the input row's four bytes at the window (broadcast) times the row's four weight codes (s8, the
// fourth 0 for a 3-wide kernel). No im2col: the padded rows are read in place. Sums are exact int32 (a window
// of the pixels' codes times int8 codes, below 2^24), converted to float for the shared epilogue.
//
// The same source compiles against SIMDe's emulation (R2Q_EMULATE_AVX512, tests only).
#ifdef R2Q_EMULATE_AVX512
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#else
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>

#include "backends/cpu/float_gemm.h"

namespace r2q::backends::cpu::detail {
namespace {

inline std::int32_t load_u32(const std::uint8_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Output channels [o0, o0 + 16) of pixels (oy, ox0 .. ox0 + P - 1), the C input channels apart.
template <int C, int P>
void tile(const ByteWindowJob& bytes, std::int64_t o0, std::int64_t oy, std::int64_t ox0) {
  const CodeWindowJob& j = bytes.window;
  __m512i acc[C][P];
  for (int c = 0; c < C; ++c)
    for (int p = 0; p < P; ++p) acc[c][p] = _mm512_setzero_si512();
  for (int c = 0; c < C; ++c)
    for (std::int64_t ky = 0; ky < j.kernel_h; ++ky) {
      const __m512i w = _mm512_loadu_si512(bytes.quads + ((c * j.kernel_h + ky) * j.channels + o0) * 4);
      const std::uint8_t* row =
          bytes.padded + (c * j.padded_h + oy * j.stride_h + ky) * j.padded_w + ox0 * j.stride_w;
      for (int p = 0; p < P; ++p)
        acc[c][p] = _mm512_dpbusd_epi32(acc[c][p], _mm512_set1_epi32(load_u32(row + p * j.stride_w)), w);
    }
  const std::int64_t plane = j.out_h * j.out_w * j.channels;
  float* out = j.sums + (oy * j.out_w + ox0) * j.channels + o0;
  for (int c = 0; c < C; ++c)
    for (int p = 0; p < P; ++p)
      _mm512_storeu_ps(out + c * plane + p * j.channels, _mm512_cvtepi32_ps(acc[c][p]));
}

template <int C>
void sums_of(const ByteWindowJob& bytes) {
  constexpr int kPixels = 24 / C;  // C x kPixels accumulators, a weight and a broadcast in the 32 zmm
  const CodeWindowJob& j = bytes.window;
  for (std::int64_t oy = 0; oy < j.out_h; ++oy)
    for (std::int64_t o0 = 0; o0 < j.channels; o0 += 16) {
      std::int64_t ox0 = 0;
      for (; ox0 + kPixels <= j.out_w; ox0 += kPixels) tile<C, kPixels>(bytes, o0, oy, ox0);
      for (; ox0 < j.out_w; ++ox0) tile<C, 1>(bytes, o0, oy, ox0);
    }
}

}  // namespace

void byte_window_sums_vnni(const ByteWindowJob& bytes) {
  switch (bytes.window.in_channels) {
    case 1:
      return sums_of<1>(bytes);
    case 2:
      return sums_of<2>(bytes);
    case 3:
      return sums_of<3>(bytes);
    default:
      return sums_of<4>(bytes);  // int_window_sums_for() allows 1 to 4
  }
}

}  // namespace r2q::backends::cpu::detail
