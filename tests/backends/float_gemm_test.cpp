// The float loops' kernels (float_gemm from columns, float_window_conv from the input in place): on every
// ISA this CPU runs, each sum is bit for bit the reference's double sum in the reference's order, for
// tile-sized and ragged shapes, with terms of widely different magnitudes, so that another order of the
// additions would show.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "backends/cpu/float_gemm.h"
#include "backends/cpu/shift_add_conv.h"
#include "core/util/rng.h"

namespace r2q::backends::cpu {
namespace {

struct Shape {
  std::int64_t k, channels;
  std::size_t pixels;
};

// Floats between -2^12 and 2^12 in magnitude steps of 2^-12: sums of such products lose different low bits
// depending on the order in which they are added.
float spread_value(Rng& rng) {
  const double magnitude = std::ldexp(1.0 + rng.uniform(), static_cast<int>(rng.uniform() * 24) - 12);
  return static_cast<float>(rng.uniform() < 0.5 ? -magnitude : magnitude);
}

std::vector<double> reference_sums(const std::vector<float>& w, const std::vector<double>& columns,
                                   const Shape& s) {
  std::vector<double> sums(static_cast<std::size_t>(s.channels) * s.pixels);
  for (std::int64_t o = 0; o < s.channels; ++o)
    for (std::size_t p = 0; p < s.pixels; ++p) {
      double sum = 0;
      for (std::int64_t i = 0; i < s.k; ++i)
        sum += static_cast<double>(w[static_cast<std::size_t>(o * s.k + i)]) *
               columns[static_cast<std::size_t>(i) * s.pixels + p];
      sums[static_cast<std::size_t>(o) * s.pixels + p] = sum;
    }
  return sums;
}

TEST(FloatGemm, EveryIsaSumsInTheReferenceOrder) {
  // Shapes around every ISA's tiles (portable 4 x 8, AVX2 4 x 12, AVX-512 8 x 16, and their one-vector and
  // one-channel remainders), the ResNet stem's columns (27 x 16 x 1024) and degenerate ones.
  const std::vector<Shape> shapes = {{27, 16, 1024}, {27, 16, 784}, {1, 1, 1},  {9, 5, 49},   {90, 9, 16},
                                     {3, 8, 17},     {13, 12, 40},  {7, 3, 7},  {64, 17, 33}, {1, 8, 16},
                                     {5, 0, 10},     {4, 6, 0},     {9, 32, 9}, {11, 24, 13}, {2, 40, 5}};
  bool order_matters = false;
  for (Isa isa : available_isas())
    for (const Shape& s : shapes) {
      SCOPED_TRACE(std::string(isa_name(isa)) + ": k " + std::to_string(s.k) + ", channels " +
                   std::to_string(s.channels) + ", pixels " + std::to_string(s.pixels));
      Rng rng(static_cast<std::uint64_t>(s.k * 1000 + s.channels * 10) + s.pixels);
      std::vector<float> w(static_cast<std::size_t>(s.k * s.channels));
      for (float& v : w) v = spread_value(rng);
      std::vector<double> columns(static_cast<std::size_t>(s.k) * s.pixels);
      for (double& v : columns) v = static_cast<double>(spread_value(rng));
      const std::vector<double> expected = reference_sums(w, columns, s);
      std::vector<double> sums(expected.size(), std::nan(""));
      float_gemm(isa, {.weights = w.data(),
                       .columns = columns.data(),
                       .sums = sums.data(),
                       .k = s.k,
                       .channels = s.channels,
                       .pixels = s.pixels});
      for (std::size_t j = 0; j < expected.size(); ++j)
        ASSERT_EQ(std::memcmp(&sums[j], &expected[j], sizeof(double)), 0)
            << "channel " << j / s.pixels << ", pixel " << j % s.pixels << ": " << sums[j]
            << ", the reference's " << expected[j];
      // The data is such that reversing the order of additions changes some sum: the test can tell orders.
      if (s.k > 1 && !order_matters)
        for (std::size_t j = 0; j < expected.size() && !order_matters; ++j) {
          const std::size_t o = j / s.pixels, p = j % s.pixels;
          double reversed = 0;
          for (std::int64_t i = s.k - 1; i >= 0; --i)
            reversed +=
                static_cast<double>(w[o * static_cast<std::size_t>(s.k) + static_cast<std::size_t>(i)]) *
                columns[static_cast<std::size_t>(i) * s.pixels + p];
          order_matters = reversed != expected[j];
        }
    }
  EXPECT_TRUE(order_matters)
      << "no sum depends on the order of its additions: the data cannot catch a reorder";
}

TEST(FloatGemm, WindowsReadTheColumnsInPlaceInTheSameOrder) {
  struct Conv {
    std::int64_t in_channels, h, w, kernel, stride, pad, out_channels;
  };
  // The ResNet stem, strides, a 1x1, rows shorter than a tile, channel counts around the vector widths (tiles
  // of 4 x 4, 8 x 4 and 16 x 8 channels x pixels, one vector of channels, and single channels).
  const std::vector<Conv> convs = {{3, 32, 32, 3, 1, 1, 16}, {1, 28, 28, 3, 1, 1, 16},
                                   {4, 7, 7, 3, 2, 1, 9},    {2, 5, 6, 1, 1, 0, 5},
                                   {3, 9, 11, 3, 2, 0, 24},  {2, 3, 3, 3, 1, 1, 40}};
  for (Isa isa : available_isas())
    for (const Conv& cv : convs) {
      SCOPED_TRACE(std::string(isa_name(isa)) + ": " + std::to_string(cv.in_channels) + "x" +
                   std::to_string(cv.h) + "x" + std::to_string(cv.w) + " k" + std::to_string(cv.kernel) +
                   " s" + std::to_string(cv.stride) + " p" + std::to_string(cv.pad) + " -> " +
                   std::to_string(cv.out_channels));
      Rng rng(static_cast<std::uint64_t>(cv.in_channels * 7 + cv.h * 11 + cv.out_channels));
      const std::int64_t ph = cv.h + 2 * cv.pad, pw = cv.w + 2 * cv.pad;
      const std::int64_t oh = (ph - cv.kernel) / cv.stride + 1, ow = (pw - cv.kernel) / cv.stride + 1;
      const Shape s{cv.in_channels * cv.kernel * cv.kernel, cv.out_channels,
                    static_cast<std::size_t>(oh * ow)};
      std::vector<double> padded(static_cast<std::size_t>(cv.in_channels * ph * pw), 0.0);
      for (std::int64_t c = 0; c < cv.in_channels; ++c)
        for (std::int64_t y = cv.pad; y < cv.pad + cv.h; ++y)
          for (std::int64_t x = cv.pad; x < cv.pad + cv.w; ++x)
            padded[static_cast<std::size_t>((c * ph + y) * pw + x)] = static_cast<double>(spread_value(rng));
      std::vector<float> w(static_cast<std::size_t>(s.k * s.channels));
      for (float& v : w) v = spread_value(rng);
      std::vector<double> columns(static_cast<std::size_t>(s.k) * s.pixels), weights_by_k(w.size());
      for (std::int64_t i = 0; i < s.k; ++i) {
        const std::int64_t c = i / (cv.kernel * cv.kernel), ky = i / cv.kernel % cv.kernel,
                           kx = i % cv.kernel;
        for (std::size_t p = 0; p < s.pixels; ++p) {
          const std::int64_t oy = static_cast<std::int64_t>(p) / ow, ox = static_cast<std::int64_t>(p) % ow;
          columns[static_cast<std::size_t>(i) * s.pixels + p] =
              padded[static_cast<std::size_t>((c * ph + oy * cv.stride + ky) * pw + ox * cv.stride + kx)];
        }
        for (std::int64_t o = 0; o < s.channels; ++o)
          weights_by_k[static_cast<std::size_t>(i * s.channels + o)] =
              w[static_cast<std::size_t>(o * s.k + i)];
      }
      const std::vector<double> expected = reference_sums(w, columns, s);
      std::vector<double> sums(expected.size(), std::nan(""));
      const auto channels = static_cast<std::size_t>(s.channels);
      float_window_conv(isa, {.weights_by_k = weights_by_k.data(),
                              .padded = padded.data(),
                              .sums = sums.data(),
                              .in_channels = cv.in_channels,
                              .padded_h = ph,
                              .padded_w = pw,
                              .kernel_h = cv.kernel,
                              .kernel_w = cv.kernel,
                              .stride_h = cv.stride,
                              .stride_w = cv.stride,
                              .out_h = oh,
                              .out_w = ow,
                              .channels = cv.out_channels});
      for (std::size_t j = 0; j < expected.size(); ++j) {
        const std::size_t o = j / s.pixels, p = j % s.pixels;
        ASSERT_EQ(std::memcmp(&sums[p * channels + o], &expected[j], sizeof(double)), 0)
            << "channel " << o << ", pixel " << p << ": " << sums[p * channels + o] << ", the reference's "
            << expected[j];
      }
    }
}

// The per-input-channel window sums of an input-affine layer (pixel codes times int8 weights): every ISA's
// float32 lanes, and AVX-512 VNNI's byte sums where the CPU has them, against the plain sum, for 1 to 5 input
// channels (the tiles take 1 to 4), whole and ragged vectors of output channels, strides 1 and 2, kernels 1
// to 4 wide (the byte sums' limit) and one 5 wide.
TEST(FloatGemm, ChannelWindowSumsAreTheIntegerSumsOnEveryPath) {
  struct Case {
    std::int64_t in_channels, out_channels, kernel_h, kernel_w, stride, size;
  };
  const std::vector<Case> cases = {{3, 16, 3, 3, 1, 11}, {3, 32, 3, 3, 2, 9}, {1, 16, 3, 3, 1, 7},
                                   {2, 16, 2, 4, 1, 6},  {4, 48, 3, 3, 1, 5}, {5, 16, 3, 3, 1, 5},
                                   {3, 20, 3, 3, 1, 6},  {3, 16, 5, 5, 2, 9}, {3, 16, 1, 1, 1, 4}};
  std::size_t byte_cases = 0, word_cases = 0;
  for (Isa isa : available_isas())
    for (const Case& cv : cases) {
      SCOPED_TRACE(std::string(isa_name(isa)) + ": C " + std::to_string(cv.in_channels) + ", O " +
                   std::to_string(cv.out_channels) + ", kernel " + std::to_string(cv.kernel_h) + "x" +
                   std::to_string(cv.kernel_w) + ", stride " + std::to_string(cv.stride));
      Rng rng(static_cast<std::uint64_t>(cv.in_channels * 100 + cv.out_channels + cv.kernel_w));
      const std::int64_t pad = cv.kernel_h / 2, ph = cv.size + 2 * pad, pw = cv.size + 2 * (cv.kernel_w / 2);
      const std::int64_t oh = (ph - cv.kernel_h) / cv.stride + 1, ow = (pw - cv.kernel_w) / cv.stride + 1;
      const std::int64_t taps = cv.kernel_h * cv.kernel_w, o_count = cv.out_channels;
      std::vector<std::uint8_t> bytes(static_cast<std::size_t>(cv.in_channels * ph * pw + 4), 0);
      for (std::uint8_t& b : bytes) b = static_cast<std::uint8_t>(rng.uniform() * 256);
      std::vector<float> padded(bytes.begin(), bytes.end() - 4);
      std::vector<std::int8_t> w(static_cast<std::size_t>(o_count * cv.in_channels * taps));  // [o][c][tap]
      for (std::int8_t& v : w) v = static_cast<std::int8_t>(static_cast<int>(rng.uniform() * 256) - 128);
      std::vector<float> by_k(w.size());
      std::vector<std::int8_t> quads(static_cast<std::size_t>(cv.in_channels * cv.kernel_h * o_count * 4), 0);
      const std::int64_t pairs = (cv.kernel_w + 1) / 2;
      std::vector<std::int16_t> pair_codes(
          static_cast<std::size_t>(cv.in_channels * cv.kernel_h * pairs * o_count * 2), 0);
      std::vector<std::int16_t> words(bytes.begin(), bytes.end());
      for (std::int64_t o = 0; o < o_count; ++o)
        for (std::int64_t c = 0; c < cv.in_channels; ++c)
          for (std::int64_t t = 0; t < taps; ++t) {
            const std::int8_t code = w[static_cast<std::size_t>((o * cv.in_channels + c) * taps + t)];
            by_k[static_cast<std::size_t>((c * taps + t) * o_count + o)] = code;
            const std::int64_t ky = t / cv.kernel_w, kx = t % cv.kernel_w;
            if (kx < 4)  // the byte kernel's quads hold 4 taps of a row: it takes kernels up to 4 wide
              quads[static_cast<std::size_t>(((c * cv.kernel_h + ky) * o_count + o) * 4 + kx)] = code;
            pair_codes[static_cast<std::size_t>(
                (((c * cv.kernel_h + ky) * pairs + kx / 2) * o_count + o) * 2 + kx % 2)] = code;
          }
      std::vector<float> expected(static_cast<std::size_t>(cv.in_channels * oh * ow * o_count));
      for (std::int64_t c = 0; c < cv.in_channels; ++c)
        for (std::int64_t p = 0; p < oh * ow; ++p)
          for (std::int64_t o = 0; o < o_count; ++o) {
            std::int64_t sum = 0;
            for (std::int64_t t = 0; t < taps; ++t) {
              const std::int64_t y = p / ow * cv.stride + t / cv.kernel_w,
                                 x = p % ow * cv.stride + t % cv.kernel_w;
              sum += w[static_cast<std::size_t>((o * cv.in_channels + c) * taps + t)] *
                     static_cast<std::int64_t>(bytes[static_cast<std::size_t>((c * ph + y) * pw + x)]);
            }
            expected[static_cast<std::size_t>((c * oh * ow + p) * o_count + o)] = static_cast<float>(sum);
          }
      std::vector<float> sums(expected.size(), -1.0f);
      const CodeWindowJob window{.weights_by_k = by_k.data(),
                                 .padded = padded.data(),
                                 .sums = sums.data(),
                                 .in_channels = cv.in_channels,
                                 .padded_h = ph,
                                 .padded_w = pw,
                                 .kernel_h = cv.kernel_h,
                                 .kernel_w = cv.kernel_w,
                                 .stride_h = cv.stride,
                                 .stride_w = cv.stride,
                                 .out_h = oh,
                                 .out_w = ow,
                                 .channels = o_count};
      channel_window_sums(isa, window);
      EXPECT_EQ(sums, expected) << "float32 lanes";
      const IntSums kernel = int_window_sums_for(isa, cv.in_channels, cv.kernel_w, o_count, 255, 128);
      if (kernel == IntSums::None) continue;
      std::fill(sums.begin(), sums.end(), -1.0f);
      if (kernel == IntSums::Bytes) {
        ++byte_cases;
        byte_window_sums({.padded = bytes.data(), .quads = quads.data(), .window = window});
        EXPECT_EQ(sums, expected) << "AVX-512 VNNI bytes";
      } else {
        ++word_cases;
        word_window_sums({.padded = words.data(), .pairs = pair_codes.data(), .window = window});
        EXPECT_EQ(sums, expected) << "AVX2 words";
      }
    }
  if (byte_cases == 0) std::cout << "[ note ] no AVX-512 VNNI here: the byte sums were not run\n";
  if (word_cases == 0) std::cout << "[ note ] no AVX2 here: the 16-bit sums were not run\n";
}

}  // namespace
}  // namespace r2q::backends::cpu
