// The per-input-channel window sums of an input-affine layer (float_gemm.h's channel_window_sums) with AVX2
// integer multiply-adds (compiled with -mavx2): one vpmaddwd adds, for 8 output channels, two taps of a
// kernel row, the input row's two codes at the window (16-bit, broadcast as one dword) times the two weight
// codes (16-bit pairs, a zero after an odd last tap). Every product is at most 255 x 128, a pair's sum fits
// int32, and the sums are exact int32 (below 2^24), converted to float for the shared epilogue. The padded
// rows are read in place.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backends/cpu/float_gemm.h"

namespace r2q::backends::cpu::detail {
namespace {

inline std::int32_t load_pair(const std::int16_t* p) {
  std::int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Output channels [o0, o0 + 8) of pixels (oy, ox0 .. ox0 + P - 1), the C input channels apart.
template <int C, int P>
void tile(const WordWindowJob& words, std::int64_t o0, std::int64_t oy, std::int64_t ox0) {
  const CodeWindowJob& j = words.window;
  const std::int64_t pairs = (j.kernel_w + 1) / 2;
  __m256i acc[C][P];
  for (int c = 0; c < C; ++c)
    for (int p = 0; p < P; ++p) acc[c][p] = _mm256_setzero_si256();
  for (int c = 0; c < C; ++c)
    for (std::int64_t ky = 0; ky < j.kernel_h; ++ky) {
      const std::int16_t* row =
          words.padded + (c * j.padded_h + oy * j.stride_h + ky) * j.padded_w + ox0 * j.stride_w;
      for (std::int64_t q = 0; q < pairs; ++q) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
            words.pairs + (((c * j.kernel_h + ky) * pairs + q) * j.channels + o0) * 2));
        for (int p = 0; p < P; ++p)
          acc[c][p] = _mm256_add_epi32(
              acc[c][p], _mm256_madd_epi16(_mm256_set1_epi32(load_pair(row + p * j.stride_w + 2 * q)), w));
      }
    }
  const std::int64_t plane = j.out_h * j.out_w * j.channels;
  float* out = j.sums + (oy * j.out_w + ox0) * j.channels + o0;
  for (int c = 0; c < C; ++c)
    for (int p = 0; p < P; ++p)
      _mm256_storeu_ps(out + c * plane + p * j.channels, _mm256_cvtepi32_ps(acc[c][p]));
}

template <int C>
void sums_of(const WordWindowJob& words) {
  constexpr int kPixels = 12 / C > 0 ? 12 / C : 1;  // C x kPixels accumulators of the 16 ymm
  const CodeWindowJob& j = words.window;
  for (std::int64_t oy = 0; oy < j.out_h; ++oy)
    for (std::int64_t o0 = 0; o0 < j.channels; o0 += 8) {
      std::int64_t ox0 = 0;
      for (; ox0 + kPixels <= j.out_w; ox0 += kPixels) tile<C, kPixels>(words, o0, oy, ox0);
      for (; ox0 < j.out_w; ++ox0) tile<C, 1>(words, o0, oy, ox0);
    }
}

}  // namespace

void word_window_sums_avx2(const WordWindowJob& words) {
  switch (words.window.in_channels) {
    case 1:
      return sums_of<1>(words);
    case 2:
      return sums_of<2>(words);
    case 3:
      return sums_of<3>(words);
    default:
      return sums_of<4>(words);  // int_window_suits() allows 1 to 4
  }
}

}  // namespace r2q::backends::cpu::detail
