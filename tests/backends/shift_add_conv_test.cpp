// The shift-add convolution kernels: exact s32 accumulators against a naive integer convolution for every ISA
// this CPU runs (and the AVX-512 kernel under SIMDe's emulation where SIMDe is installed), the fused epilogue
// against a float reference, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "backends/cpu/shift_add_conv.h"
#include "backends/cpu/shift_add_kernels.h"
#include "core/deploy/codes.h"
#include "core/util/cpu.h"
#include "core/util/error.h"
#include "core/util/rng.h"

namespace r2q::backends::cpu {
namespace {

// One way to run the kernels: a real ISA through the public API, or the emulated AVX-512 table; with the
// weights also packed for the dot-product kernel (`dot`), which runs every layer whose group_in is a multiple
// of 4 where the ISA has it (AVX-512 VNNI), the bit-plane kernel the others.
struct Path {
  std::string name;
  Isa isa;
  bool emulated = false;
  bool dot = false;
};

std::vector<Path> paths() {
  std::vector<Path> out = {{"scalar", Isa::Scalar},
                           {"avx2", Isa::Avx2},
                           {"avx512", Isa::Avx512},
                           {"avx2_dot", Isa::Avx2, false, true},
                           {"avx512_dot", Isa::Avx512, false, true}};
#ifdef R2Q_EMULATE_AVX512
  out.push_back({"avx512_emulated", Isa::Avx512, true});
  out.push_back({"avx512_dot_emulated", Isa::Avx512, true, true});
#endif
  return out;
}

// Why the path cannot run here; empty where it can.
std::string unavailable(const Path& path) {
  if (path.emulated) return "";
  std::string why = isa_unavailable_reason(path.isa);
  if (why.empty() && path.dot && path.isa == Isa::Avx512 && !cpu_info().avx512_vnni)
    why = "the CPU lacks AVX-512 VNNI";
  return why;
}

// Skips the test (with the reason) when the path cannot run here.
#define SKIP_IF_UNAVAILABLE(path)                                                                  \
  do {                                                                                             \
    const std::string why = unavailable(path);                                                     \
    if (!why.empty()) GTEST_SKIP() << "the " << (path).name << " kernel cannot run here: " << why; \
  } while (0)

struct Case {
  std::string name;
  ConvShape shape;
  int weight_bits = 2, act_bits = 2, batch = 1;
};

void PrintTo(const Path& p, std::ostream* os) {
  *os << p.name;
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

ConvShape conv(int cin, int cout, int h, int w, int k, int stride, int pad, int groups = 1) {
  ConvShape s;
  s.in_channels = cin;
  s.out_channels = cout;
  s.in_h = h;
  s.in_w = w;
  s.kernel_h = s.kernel_w = k;
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = pad;
  s.groups = groups;
  return s;
}

std::vector<std::int8_t> random_weights(const ConvShape& s, int bits, std::uint64_t seed) {
  Rng rng(seed);
  const int qmax = (1 << bits) - 1;
  std::vector<std::int8_t> w(static_cast<std::size_t>(s.out_channels) * s.group_in() * s.kernel_h *
                             s.kernel_w);
  for (auto& m : w) m = static_cast<std::int8_t>(2 * static_cast<int>(rng.below(qmax + 1)) - qmax);
  return w;
}

std::vector<std::uint8_t> random_input(const ConvShape& s, int batch, int bits, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::uint8_t> a(static_cast<std::size_t>(batch) * s.in_h * s.in_w * s.in_channels);
  for (auto& v : a) v = static_cast<std::uint8_t>(rng.below(std::uint64_t{1} << bits));
  return a;
}

// The definition: out[n][oy][ox][oc] = sum over the window of w[oc][c][ky][kx] * a[n][iy][ix][g * cg + c].
std::vector<std::int32_t> naive_conv(const ConvShape& s, const std::vector<std::int8_t>& w,
                                     const std::vector<std::uint8_t>& a, int batch) {
  const int oh = s.out_h(), ow = s.out_w(), cg = s.group_in(), og = s.group_out();
  std::vector<std::int32_t> out(static_cast<std::size_t>(batch) * oh * ow * s.out_channels);
  for (int n = 0; n < batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int oc = 0; oc < s.out_channels; ++oc) {
          const int g = oc / og;
          std::int32_t acc = 0;
          for (int c = 0; c < cg; ++c)
            for (int ky = 0; ky < s.kernel_h; ++ky)
              for (int kx = 0; kx < s.kernel_w; ++kx) {
                const int iy = oy * s.stride_h - s.pad_h + ky, ix = ox * s.stride_w - s.pad_w + kx;
                if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                const int m =
                    w[((static_cast<std::size_t>(oc) * cg + c) * s.kernel_h + ky) * s.kernel_w + kx];
                const int v = a[((static_cast<std::size_t>(n) * s.in_h + iy) * s.in_w + ix) * s.in_channels +
                                g * cg + c];
                acc += m * v;
              }
          out[((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * s.out_channels + oc] = acc;
        }
  return out;
}

std::vector<std::int32_t> run(const Path& path, const Case& c, const PackedConvWeights& packed,
                              const std::vector<std::uint8_t>& input, Workspace* ws = nullptr) {
  std::vector<std::int32_t> acc(
      static_cast<std::size_t>(c.batch) * c.shape.out_h() * c.shape.out_w() * c.shape.out_channels, -12345);
#ifdef R2Q_EMULATE_AVX512
  if (path.emulated) {
    Workspace local;
    detail::KernelTable kernels = detail::avx512_emulated_kernels();
    if (path.dot) {
      kernels.dot_row = detail::dot_row_avx512_vnni_emulated;
      kernels.dot_expand = detail::dot_expand_avx512_emulated;
    }
    detail::run_conv(kernels, {c.shape, packed, input.data(), c.batch, c.act_bits, nullptr, acc.data()},
                     ws != nullptr ? *ws : local);
    return acc;
  }
#endif
  shift_add_conv(c.shape, packed, input.data(), c.batch, c.act_bits, acc.data(), path.isa, ws);
  return acc;
}

void expect_exact(const Path& path, const Case& c, std::uint64_t seed) {
  const auto w = random_weights(c.shape, c.weight_bits, seed);
  const auto a = random_input(c.shape, c.batch, c.act_bits, seed + 1);
  const PackedConvWeights packed(c.shape, w, c.weight_bits, path.dot ? Packing::Both : Packing::BitPlanes);
  const auto got = run(path, c, packed, a);
  const auto want = naive_conv(c.shape, w, a, c.batch);
  ASSERT_EQ(got.size(), want.size());
  std::size_t wrong = 0, first = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i] && wrong++ == 0) first = i;
  EXPECT_EQ(wrong, 0u) << c.name << " on " << path.name << ": first difference at " << first << ": "
                       << got[first] << " != " << want[first];
}

std::vector<Case> shapes() {
  return {
      // ResNet-20 (CIFAR): the three stages, the strided entries and a 1x1 projection shortcut.
      {"resnet20_16x16_s1", conv(16, 16, 32, 32, 3, 1, 1)},
      {"resnet20_16x32_s2", conv(16, 32, 32, 32, 3, 2, 1)},
      {"resnet20_32x64_s2", conv(32, 64, 16, 16, 3, 2, 1)},
      {"resnet20_64x64_s1_8x8", conv(64, 64, 8, 8, 3, 1, 1), 2, 2, 3},
      {"resnet20_proj_1x1_s2", conv(16, 32, 32, 32, 1, 2, 0)},
      // LeNet-like: 5x5, no padding, a single input channel.
      {"lenet_c1", conv(1, 6, 28, 28, 5, 1, 0), 2, 4},
      {"lenet_c2", conv(6, 16, 14, 14, 5, 1, 0), 2, 2, 3},
      // MobileNetV2: depthwise 3x3 (groups == channels) at stride 1 and 2, pointwise 1x1.
      {"mbv2_depthwise_s1", conv(32, 32, 16, 16, 3, 1, 1, 32)},
      {"mbv2_depthwise_s2", conv(96, 96, 15, 15, 3, 2, 1, 96), 2, 4},
      {"mbv2_pointwise", conv(16, 96, 16, 16, 1, 1, 0)},
      {"mbv2_project", conv(96, 24, 8, 8, 1, 1, 0), 3, 2},
      // SqueezeNet fire module: 1x1 squeeze, 3x3 expand.
      {"squeeze_1x1", conv(96, 16, 13, 13, 1, 1, 0)},
      {"expand_3x3", conv(16, 64, 13, 13, 3, 1, 1)},
      // Linear layers: 1x1 on 1x1. The long one has more than 31 words per plane (the AVX2 flush).
      {"linear_64x10", conv(64, 10, 1, 1, 1, 1, 0), 2, 2, 3},
      {"linear_2100x17", conv(2100, 17, 1, 1, 1, 1, 0), 2, 2, 3},
      // Channels that fill no block or word evenly; grouped with several channels per group.
      {"odd_3x17", conv(3, 17, 7, 9, 3, 1, 1), 3, 4},
      {"odd_17x70_s2", conv(17, 70, 11, 10, 3, 2, 1), 2, 2, 3},
      {"odd_70x3", conv(70, 3, 5, 6, 3, 1, 2), 1, 8},
      {"grouped_2", conv(16, 24, 9, 9, 3, 1, 1, 2), 2, 4},
      // Dot products: 3 blocks of 16 channels (a pair and one), rows of 31 pixels (tiles of 8 and 16, then
      // of 4, then 3).
      {"dot_40ch_w31", conv(12, 40, 6, 31, 3, 1, 1), 3, 4},
      {"grouped_4_s2", conv(36, 20, 10, 10, 3, 2, 1, 4), 3, 2, 3},
      {"rect_kernel",
       [] {
         ConvShape s = conv(8, 16, 12, 10, 3, 1, 0);
         s.kernel_w = 5;
         s.stride_w = 2;
         s.pad_w = 2;
         return s;
       }()},
  };
}

class ShapeTest : public ::testing::TestWithParam<std::tuple<Case, Path>> {};

TEST_P(ShapeTest, AccumulatorsEqualNaiveConvolution) {
  const auto& [c, path] = GetParam();
  SKIP_IF_UNAVAILABLE(path);
  expect_exact(path, c, 0x5EED);
}

INSTANTIATE_TEST_SUITE_P(Kernels, ShapeTest,
                         ::testing::Combine(::testing::ValuesIn(shapes()), ::testing::ValuesIn(paths())),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_" + std::get<1>(info.param).name;
                         });

class BitsTest : public ::testing::TestWithParam<Path> {};

// Every weight width 1..4 against activation widths 1, 2, 4 and 8, batch 1 and 3.
TEST_P(BitsTest, EveryBitWidth) {
  const Path& path = GetParam();
  SKIP_IF_UNAVAILABLE(path);
  for (int wb = 1; wb <= 4; ++wb)
    for (int ab : {1, 2, 4, 8})
      for (int batch : {1, 3}) {
        Case c{"w" + std::to_string(wb) + "a" + std::to_string(ab) + "b" + std::to_string(batch),
               conv(24, 20, 9, 8, 3, 2, 1), wb, ab, batch};
        expect_exact(path, c, 100 * wb + ab);
        Case d = c;
        d.name += "_1x1";
        d.shape = conv(130, 9, 3, 4, 1, 1, 0);
        expect_exact(path, d, 1000 + 100 * wb + ab);
      }
}

// All-extreme codes: the largest accumulators, and patches that are all zero or all padding.
TEST_P(BitsTest, ExtremeCodes) {
  const Path& path = GetParam();
  SKIP_IF_UNAVAILABLE(path);
  // The second has 33 words per plane: all ones there overflow byte counters summed over more than 31 words.
  for (const Case& c : {Case{"extreme_3x3", conv(64, 16, 5, 5, 3, 1, 2), 4, 8, 1},
                        Case{"extreme_linear", conv(2100, 9, 1, 1, 1, 1, 0), 4, 8, 1}})
    for (int m : {15, -15})
      for (int v : {0, 255}) {
        const std::vector<std::int8_t> w(static_cast<std::size_t>(c.shape.out_channels) *
                                             c.shape.in_channels * c.shape.kernel_h * c.shape.kernel_w,
                                         static_cast<std::int8_t>(m));
        const std::vector<std::uint8_t> a(
            static_cast<std::size_t>(c.shape.in_h) * c.shape.in_w * c.shape.in_channels,
            static_cast<std::uint8_t>(v));
        const PackedConvWeights packed(c.shape, w, c.weight_bits,
                                       path.dot ? Packing::Both : Packing::BitPlanes);
        EXPECT_EQ(run(path, c, packed, a), naive_conv(c.shape, w, a, 1))
            << c.name << ", m = " << m << ", a = " << v;
      }
}

// One workspace through shapes of different sizes, largest first, then again: nothing stale leaks through.
TEST_P(BitsTest, WorkspaceReuse) {
  const Path& path = GetParam();
  SKIP_IF_UNAVAILABLE(path);
  Workspace ws;
  const std::vector<Case> cases = {{"big", conv(32, 16, 16, 16, 3, 1, 1)},
                                   {"small", conv(8, 8, 5, 5, 3, 2, 0), 2, 4},
                                   {"big_again", conv(32, 16, 16, 16, 3, 1, 1), 3, 2}};
  for (const Case& c : cases) {
    const auto w = random_weights(c.shape, c.weight_bits, 7);
    const auto a = random_input(c.shape, c.batch, c.act_bits, 8);
    const PackedConvWeights packed(c.shape, w, c.weight_bits, path.dot ? Packing::Both : Packing::BitPlanes);
    EXPECT_EQ(run(path, c, packed, a, &ws), naive_conv(c.shape, w, a, c.batch)) << c.name;
  }
}

// The fused epilogue against the float formula applied to the naive accumulators. The kernels compute in
// float, multiply then add, as here, so floats and codes match exactly.
TEST_P(BitsTest, EpilogueMatchesFloatReference) {
  const Path& path = GetParam();
  if (path.emulated)
    GTEST_SKIP() << "the epilogue is plain C++ compiled per ISA; the emulated table shares it";
  SKIP_IF_UNAVAILABLE(path);
  const ConvShape s = conv(16, 20, 9, 9, 3, 1, 1);
  const int batch = 2, act_bits = 2, wb = 2;
  const auto w = random_weights(s, wb, 11);
  const auto a = random_input(s, batch, act_bits, 12);
  const PackedConvWeights packed(s, w, wb, path.dot ? Packing::Both : Packing::BitPlanes);
  const auto acc = naive_conv(s, w, a, batch);

  Rng rng(13);
  Epilogue e;
  for (int c = 0; c < s.out_channels; ++c) {
    // Every third channel's multiplier negative, one of them zero.
    const double m = 0.002 + 0.05 * rng.uniform();
    e.multiplier.push_back(static_cast<float>(c == 4 ? 0.0 : c % 3 == 0 ? -m : m));
    e.bias.push_back(static_cast<float>(rng.uniform() - 0.5));
  }
  e.out_scale = 1.3f;
  auto reference = [&](std::size_t i) {
    const int c = static_cast<int>(i % static_cast<std::size_t>(s.out_channels));
    const float y = static_cast<float>(acc[i]) * e.multiplier[static_cast<std::size_t>(c)] +
                    e.bias[static_cast<std::size_t>(c)];
    return e.relu && y < 0.0f ? 0.0f : y;
  };

  for (bool relu : {false, true}) {
    e.relu = relu;
    e.out_bits = 0;
    std::vector<float> out(acc.size());
    shift_add_conv(s, packed, a.data(), batch, act_bits, e, out.data(), path.isa);
    for (std::size_t i = 0; i < acc.size(); ++i)
      ASSERT_EQ(out[i], reference(i)) << "relu " << relu << ", element " << i << ", acc " << acc[i];
  }
  // Codes by the export format's rule: deploy::quantize_activation of the activated float.
  for (int out_bits : {1, 2, 3, 4, 8}) {
    e.relu = true;
    e.out_bits = out_bits;
    const float qmax = static_cast<float>((1 << out_bits) - 1);
    e.out_scale = 1.3f / qmax;
    std::vector<std::uint8_t> out(acc.size());
    shift_add_conv(s, packed, a.data(), batch, act_bits, e, out.data(), path.isa);
    const deploy::InputQuant quant{.kind = deploy::ActKind::Unsigned,
                                   .bits = out_bits,
                                   .scale = e.out_scale,
                                   .min_code = 0,
                                   .max_code = (1 << out_bits) - 1};
    std::vector<int> seen(static_cast<std::size_t>(qmax) + 1, 0);
    for (std::size_t i = 0; i < acc.size(); ++i) {
      const int want = deploy::quantize_activation(reference(i), quant);
      ASSERT_EQ(out[i], want) << out_bits << " bits, element " << i;
      ++seen[out[i]];
    }
    EXPECT_GT(seen.front(), 0) << "the test should reach both ends of the code range";
    EXPECT_GT(seen.back(), 0) << "the test should reach both ends of the code range";
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, BitsTest, ::testing::ValuesIn(paths()),
                         [](const auto& info) { return info.param.name; });

// Round half away from zero at an exact half, as std::round (round-half-to-even would give 0 there).
TEST(ShiftAddEpilogue, RoundsHalvesAwayFromZero) {
  const ConvShape s = conv(8, 1, 1, 1, 1, 1, 0);  // acc = the number of ones among 8 one-bit codes
  const std::vector<std::int8_t> w(8, 1);
  const PackedConvWeights packed(s, w, 1);
  Epilogue e;
  e.multiplier = {0.25f};
  e.bias = {0.0f};
  e.out_bits = 1;
  e.out_scale = 2.0f;  // code = int(clamp(acc / 8, 0, 1) + 0.5f), every step exact: 4 ones give exactly 0.5
  for (Isa isa : available_isas())
    for (int ones = 0; ones <= 8; ++ones) {
      std::vector<std::uint8_t> a(8, 0);
      std::fill(a.begin(), a.begin() + ones, 1);
      std::uint8_t q = 255;
      shift_add_conv(s, packed, a.data(), 1, 1, e, &q, isa);
      EXPECT_EQ(q, ones >= 4 ? 1 : 0) << isa_name(isa) << ", " << ones << " ones";
      EXPECT_EQ(q, static_cast<int>(std::round(ones / 8.0f)));
    }
}

TEST(ShiftAddWeights, InvalidCodesAreNamed) {
  const ConvShape s = conv(4, 2, 3, 3, 3, 1, 1);
  std::vector<std::int8_t> w(2 * 4 * 9, 1);
  w[45] = 2;  // [out 1, in 1, ky 0, kx 0]
  try {
    PackedConvWeights(s, w, 2);
    FAIL() << "an even code was accepted";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("code 2 at index 45"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1, 1, 0, 0]"), std::string::npos) << msg;
  }
  w[45] = -5;
  EXPECT_THROW(PackedConvWeights(s, w, 2), InputError);
  w[45] = 5;
  EXPECT_NO_THROW(PackedConvWeights(s, w, 3));
  EXPECT_THROW(PackedConvWeights(s, w, 5), InputError);
  w.pop_back();
  EXPECT_THROW(PackedConvWeights(s, w, 3), InputError);
}

TEST(ShiftAddConv, InvalidActivationCodesAreNamed) {
  const ConvShape s = conv(4, 2, 3, 3, 3, 1, 1);
  const std::vector<std::int8_t> w(2 * 4 * 9, 1);
  const PackedConvWeights packed(s, w, 2);
  std::vector<std::uint8_t> a(2 * 9 * 4, 3);
  a[40] = 4;  // image 1, offset 4
  const PackedConvWeights with_dot(s, w, 2,
                                   Packing::Both);  // group_in 4: the dot-product kernel where there is one
  std::vector<std::int32_t> acc(2 * 9 * 2);
  for (const PackedConvWeights* weights : {&packed, &with_dot})
    for (Isa isa : available_isas()) {
      try {
        shift_add_conv(s, *weights, a.data(), 2, 2, acc.data(), isa);
        FAIL() << "code 4 accepted for 2-bit activations on " << isa_name(isa);
      } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("code 4 at index 40"), std::string::npos) << e.what();
      }
      EXPECT_NO_THROW(shift_add_conv(s, *weights, a.data(), 2, 3, acc.data(), isa));
    }
}

// The rule measured in docs/PERFORMANCE.md, and which kernel runs a layer.
TEST(ShiftAddDot, RuleAndSelection) {
  // ResNet-20 at W2A2: stages 1 and 2 (AVX2: all three); W1A1 never; from W2A4 on always; group_in must be a
  // multiple of 4.
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    for (int channels : {16, 32})
      EXPECT_TRUE(dot_product_suits(conv(channels, channels, 8, 8, 3, 1, 1), 2, 2, isa));
    EXPECT_EQ(dot_product_suits(conv(64, 64, 8, 8, 3, 1, 1), 2, 2, isa), isa == Isa::Avx2);
    EXPECT_FALSE(dot_product_suits(conv(256, 256, 4, 4, 3, 1, 1), 2, 2, isa));
    EXPECT_TRUE(dot_product_suits(conv(256, 256, 4, 4, 3, 1, 1), 2, 4, isa));
    EXPECT_FALSE(dot_product_suits(conv(16, 16, 8, 8, 3, 1, 1), 1, 1, isa));
    EXPECT_TRUE(dot_product_suits(conv(32, 32, 8, 8, 3, 1, 1), 1, 2, isa));
    EXPECT_FALSE(dot_product_suits(conv(64, 64, 8, 8, 3, 1, 1), 1, 2, isa));
    EXPECT_FALSE(dot_product_suits(conv(6, 16, 8, 8, 3, 1, 1), 4, 4, isa));
    EXPECT_FALSE(
        dot_product_suits(conv(32, 32, 8, 8, 3, 1, 1, 32), 4, 4, isa));  // depthwise: 1 channel a group
  }

  const ConvShape s = conv(16, 16, 8, 8, 3, 1, 1);
  const auto w = random_weights(s, 2, 3);
  const PackedConvWeights planes(s, w, 2), dot(s, w, 2, Packing::Both),
      dot_only(s, w, 2, Packing::DotProduct);
  EXPECT_FALSE(planes.has_dot_codes());
  ASSERT_TRUE(dot.has_dot_codes());
  EXPECT_EQ(dot.bytes(),
            planes.bytes() + 16u * 9 * 16 * 2 / 8);  // 2 bits per code, no padding at 16 channels
  EXPECT_EQ(dot_only.bytes(), dot.bytes() - planes.bytes());
  EXPECT_FALSE(dot_only.has_bit_planes());
  // group_in 6: bit-planes whatever was asked.
  const PackedConvWeights six(conv(6, 16, 8, 8, 3, 1, 1), std::vector<std::int8_t>(16 * 6 * 9, 1), 2,
                              Packing::DotProduct);
  EXPECT_FALSE(six.has_dot_codes());
  EXPECT_TRUE(six.has_bit_planes());
  for (Isa isa : available_isas()) {
    EXPECT_FALSE(uses_dot_product(isa, planes)) << isa_name(isa);
    EXPECT_EQ(uses_dot_product(isa, dot), isa == Isa::Avx2 || (isa == Isa::Avx512 && cpu_info().avx512_vnni))
        << isa_name(isa);
    // Dot-product codes alone on an ISA without the kernel: a bug in the caller.
    if (!dot_product_runs(isa)) {
      std::vector<std::uint8_t> in(8 * 8 * 16, 1);
      std::vector<std::int32_t> out(8 * 8 * 16);
      EXPECT_THROW(shift_add_conv(s, dot_only, in.data(), 1, 2, out.data(), isa), std::invalid_argument);
    }
  }
}

TEST(ShiftAddConv, ShapeErrorsNameTheField) {
  ConvShape s = conv(16, 16, 8, 8, 3, 1, 1, 3);
  try {
    s.validate();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("groups = 3"), std::string::npos) << e.what();
  }
  s = conv(16, 16, 2, 2, 5, 1, 0);
  EXPECT_THROW(s.validate(), InputError);
  s = conv(16, 16, 8, 8, 3, 0, 1);
  try {
    s.validate();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("stride_h"), std::string::npos) << e.what();
  }
  // Weights packed for one shape, run with another.
  const ConvShape a = conv(8, 8, 4, 4, 3, 1, 1), b = conv(8, 8, 5, 5, 3, 1, 1);
  const PackedConvWeights packed(a, std::vector<std::int8_t>(8 * 8 * 9, 1), 2);
  std::vector<std::uint8_t> in(25 * 8, 0);
  std::vector<std::int32_t> out(25 * 8);
  // An engine's bug, not the user's input.
  EXPECT_THROW(shift_add_conv(b, packed, in.data(), 1, 2, out.data()), std::invalid_argument);
}

TEST(ShiftAddIsa, UnavailableIsaIsAnError) {
  int missing = 0;
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    const std::string why = isa_unavailable_reason(isa);
    if (why.empty()) continue;
    ++missing;
    try {
      resolve_isa(isa);
      FAIL() << isa_name(isa) << " resolved although " << why;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
    const ConvShape s = conv(8, 8, 4, 4, 3, 1, 1);
    const PackedConvWeights packed(s, std::vector<std::int8_t>(8 * 8 * 9, 1), 2);
    std::vector<std::uint8_t> in(16 * 8, 0);
    std::vector<std::int32_t> out(16 * 8);
    EXPECT_THROW(shift_add_conv(s, packed, in.data(), 1, 2, out.data(), isa), InputError);
  }
  if (missing == 0) GTEST_SKIP() << "this CPU runs every kernel";
}

// R2Q_KERNEL_ISA chooses for Isa::Auto; an explicit argument wins over it.
TEST(ShiftAddIsa, EnvironmentOverride) {
  const char* old = std::getenv("R2Q_KERNEL_ISA");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("R2Q_KERNEL_ISA", "scalar", 1);
  EXPECT_EQ(resolve_isa(Isa::Auto), Isa::Scalar);
  EXPECT_EQ(resolve_isa(Isa::Scalar), Isa::Scalar);
  ::setenv("R2Q_KERNEL_ISA", "sse9", 1);
  try {
    resolve_isa(Isa::Auto);
    ADD_FAILURE() << "an unknown ISA name was accepted";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("R2Q_KERNEL_ISA"), std::string::npos) << msg;
    EXPECT_NE(msg.find("avx512"), std::string::npos) << "the message should list the known names: " << msg;
  }
  if (!isa_unavailable_reason(Isa::Avx512).empty()) {
    ::setenv("R2Q_KERNEL_ISA", "avx512", 1);
    EXPECT_THROW(resolve_isa(Isa::Auto), InputError);
  }
  ::setenv("R2Q_KERNEL_ISA", "auto", 1);
  EXPECT_EQ(resolve_isa(Isa::Auto), available_isas().back());
  if (old != nullptr)
    ::setenv("R2Q_KERNEL_ISA", saved.c_str(), 1);
  else
    ::unsetenv("R2Q_KERNEL_ISA");
  EXPECT_EQ(parse_isa("avx2"), Isa::Avx2);
  EXPECT_EQ(available_isas().front(), Isa::Scalar);
}

}  // namespace
}  // namespace r2q::backends::cpu
