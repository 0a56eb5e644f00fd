// The reference interpreter against numbers computed by hand, and its integer accumulators against
// independent computations (direct dot products of decoded codes, the shift-add kernel of DESIGN §1.3).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/deploy/codes.h"
#include "core/deploy/reference.h"
#include "core/quant/shift_add.h"
#include "core/util/error.h"
#include "tests/support/deploy_test_models.h"

namespace r2q::deploy {
namespace {

// A model of one layer reading the input (value 0) and writing the logits (value 1), with a GlobalAvgPool
// appended when the layer's output is not [C, 1, 1] (value 2 then).
Model single(const Layer& layer, Shape input, bool pool) {
  Model m;
  m.input = input;
  m.layers.push_back(layer);
  m.layers[0].inputs = {kInputValue};
  m.layers[0].output = 1;
  m.output = 1;
  if (pool) {
    m.layers.push_back(testing::simple_layer(Op::GlobalAvgPool, "gap", {1}, 2));
    m.output = 2;
  }
  return m;
}

FloatBatch batch(Shape shape, std::vector<float> values) {
  FloatBatch b(static_cast<int64_t>(values.size()) / shape.size(), shape);
  b.data = std::move(values);
  return b;
}

Layer quantized_conv(const std::string& name, Conv conv, Activation activation = Activation::None) {
  Layer l;
  l.op = Op::Conv2d;
  l.name = name;
  l.conv = std::move(conv);
  l.activation = activation;
  return l;
}

// The value of every layer output, by value id.
std::map<int, FloatBatch> values_of(const Model& m, const FloatBatch& x) {
  return run_reference(m, x, {.keep_accumulators = true, .keep_values = true}).values;
}

TEST(DeployReference, QuantizesActivationsLikeTheTrainingCode) {
  InputQuant u{ActKind::Unsigned, 2, 0.5f, 0, 3};
  EXPECT_EQ(quantize_activation(0.5f, u), 1);
  EXPECT_EQ(quantize_activation(0.74f, u), 1);   // 1.48
  EXPECT_EQ(quantize_activation(0.75f, u), 2);   // 1.5: half away from zero
  EXPECT_EQ(quantize_activation(-3.0f, u), 0);   // clamped at 0
  EXPECT_EQ(quantize_activation(100.0f, u), 3);  // and at 2^k - 1
  EXPECT_EQ(quantize_activation(std::numeric_limits<float>::infinity(), u), 3);
  EXPECT_EQ(quantize_activation(std::nanf(""), u), 0);
  InputQuant s{ActKind::Signed, 4, 1.0f, -8, 7};
  EXPECT_EQ(quantize_activation(-2.5f, s), -3);
  EXPECT_EQ(quantize_activation(-1.49f, s), -1);
  EXPECT_EQ(quantize_activation(-9.0f, s), -8);  // LSQ's signed range is [-2^(k-1), 2^(k-1) - 1]
  EXPECT_EQ(quantize_activation(9.0f, s), 7);
  // floor(|v| + 0.5f) in float32, as torch computes it: the largest float below 0.5 rounds up.
  EXPECT_EQ(quantize_activation(std::nextafter(0.5f, 0.0f), s), 1);
  EXPECT_EQ(kind_min_code(ActKind::Signed, 8), -128);
  EXPECT_EQ(kind_max_code(ActKind::Unsigned, 8), 255);
}

TEST(DeployReference, PointwiseConvWithKnownCodes) {
  // Input [2, 1, 2]; unsigned 2-bit codes with scale 0.5: channel 0 x = 0.5, 1.4 -> 1, 3 (2.8 rounds up);
  // channel 1 x = 0.2, 3.0 -> 0, 3 (0.4 rounds down, 6 clamps to 3).
  Conv c;
  c.in_channels = 2;
  c.out_channels = 2;
  c.input_quant = {ActKind::Unsigned, 2, 0.5f, 0, 3};
  c.weights.format = WeightFormat::OddPlanes;
  c.weights.bits = 2;
  c.weights.planes = pack_odd_planes(std::vector<int32_t>{3, -1, -3, 1}, 2, 2, 2);
  c.weights.scale = {1.0f, 1.0f};
  c.mul = {0.25f, 0.5f};
  c.bias = {1.0f, 0.0f};
  Model m = single(quantized_conv("pw", c, Activation::Relu), {2, 1, 2}, true);
  auto r = run_reference(m, batch({2, 1, 2}, {0.5f, 1.4f, 0.2f, 3.0f}), {.keep_accumulators = true});
  // o0: 3*1 - 1*0 = 3, 3*3 - 1*3 = 6; o1: -3*1 + 1*0 = -3, -3*3 + 1*3 = -6.
  EXPECT_EQ(r.accumulators.at(0).data, (std::vector<int32_t>{3, 6, -3, -6}));
  auto v = values_of(m, batch({2, 1, 2}, {0.5f, 1.4f, 0.2f, 3.0f}));
  // y = acc * mul + bias, ReLU: 1.75, 2.5 | -1.5 -> 0, -3 -> 0.
  EXPECT_EQ(v.at(1).data, (std::vector<float>{1.75f, 2.5f, 0.0f, 0.0f}));
  EXPECT_EQ(r.logits.data, (std::vector<float>{2.125f, 0.0f}));  // the mean over the two positions
}

TEST(DeployReference, StridedPaddedConvMatchesHandComputedSobel) {
  // x = 1..16 on a 4x4 grid, codes = x (8-bit unsigned, scale 1); 3x3 Sobel kernel, stride 2, padding 1.
  Conv c;
  c.in_channels = c.out_channels = 1;
  c.kernel_h = c.kernel_w = 3;
  c.stride_h = c.stride_w = 2;
  c.pad_h = c.pad_w = 1;
  c.input_quant = {ActKind::Unsigned, 8, 1.0f, 0, 255};
  c.weights.format = WeightFormat::IntCodes;
  c.weights.bits = 3;
  c.weights.codes = {1, 0, -1, 2, 0, -2, 1, 0, -1};
  c.weights.scale = {1.0f};
  c.mul = {1.0f};
  c.bias = {0.0f};
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>(i + 1);
  Model m = single(quantized_conv("sobel", c), {1, 4, 4}, true);
  auto v = values_of(m, batch({1, 4, 4}, x));
  // Window centres (0,0), (0,2), (2,0), (2,2):
  //   (0,0): -2*2 - 1*6 = -10                 (0,2): 2*2 - 2*4 + 6 - 8 = -6
  //   (2,0): -6 - 2*10 - 14 = -40              (2,2): (6 - 8) + 2*(10 - 12) + (14 - 16) = -8
  EXPECT_EQ(v.at(1).shape, (Shape{1, 2, 2}));
  EXPECT_EQ(v.at(1).data, (std::vector<float>{-10, -6, -40, -8}));
  auto r = run_reference(m, batch({1, 4, 4}, x), {.keep_accumulators = true});
  EXPECT_EQ(r.accumulators.at(0).data, (std::vector<int32_t>{-10, -6, -40, -8}));
  EXPECT_FLOAT_EQ(r.logits.data[0], -16.0f);
}

TEST(DeployReference, DepthwiseConvWithRelu6) {
  // Two channels, 2x2 kernel per channel (groups = 2), no padding: one output per channel.
  Conv c;
  c.in_channels = c.out_channels = c.groups = 2;
  c.kernel_h = c.kernel_w = 2;
  c.input_quant = {ActKind::Unsigned, 2, 1.0f, 0, 3};
  c.weights.format = WeightFormat::OddPlanes;
  c.weights.bits = 2;
  c.weights.planes = pack_odd_planes(std::vector<int32_t>{1, -1, 3, -3, -1, -1, 1, 3}, 2, 4, 2);
  c.weights.scale = {1.0f, 1.0f};
  c.mul = {1.0f, 1.0f};
  c.bias = {0.0f, 0.5f};
  Model m = single(quantized_conv("dw", c, Activation::Relu6), {2, 2, 2}, false);
  auto r = run_reference(m, batch({2, 2, 2}, {1, 2, 3, 0, 3, 3, 1, 1}), {.keep_accumulators = true});
  // ch0: 1*1 - 2 + 3*3 - 3*0 = 8; ch1: -3 - 3 + 1 + 3 = -2. ReLU6: 8 -> 6; -2 + 0.5 -> 0.
  EXPECT_EQ(r.accumulators.at(0).data, (std::vector<int32_t>{8, -2}));
  EXPECT_EQ(r.logits.data, (std::vector<float>{6.0f, 0.0f}));
}

TEST(DeployReference, ChannelPadSubsampleIsTheOptionAShortcut) {
  Layer l = testing::simple_layer(Op::ChannelPadSubsample, "shortcut", {0}, 1);
  l.shortcut = {2, 1, 1};
  Model m;
  m.input = {2, 3, 3};
  m.layers = {l, testing::simple_layer(Op::GlobalAvgPool, "gap", {1}, 2)};
  m.output = 2;
  std::vector<float> x(18);
  for (int i = 0; i < 18; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>(i);
  auto v = values_of(m, batch({2, 3, 3}, x));
  // x[:, :, ::2, ::2] of 3x3 keeps rows/cols 0 and 2; one zero channel before, one after.
  EXPECT_EQ(v.at(1).shape, (Shape{4, 2, 2}));
  EXPECT_EQ(v.at(1).data, (std::vector<float>{0, 0, 0, 0, 0, 2, 6, 8, 9, 11, 15, 17, 0, 0, 0, 0}));
  EXPECT_EQ(v.at(2).data, (std::vector<float>{0, 4, 13, 0}));  // global average pool
}

TEST(DeployReference, LinearWithSignedInputCodes) {
  // Signed 4-bit codes, scale 0.5: x = 1.0, -0.75, -4.0 -> 2, -2 (-1.5 away from zero), -8 (clamped).
  Layer l;
  l.op = Op::Linear;
  l.name = "fc";
  Conv& c = l.conv;
  c.in_channels = 3;
  c.out_channels = 2;
  c.input_quant = {ActKind::Signed, 4, 0.5f, -8, 7};
  c.weights.format = WeightFormat::IntCodes;
  c.weights.bits = 8;
  c.weights.codes = {1, 2, 3, -128, 0, 1};
  c.weights.scale = {0.01f, 0.02f};
  c.mul = {0.1f, 1.0f};
  c.bias = {0.0f, 0.0f};
  Model m = single(l, {3, 1, 1}, false);
  auto r = run_reference(m, batch({3, 1, 1}, {1.0f, -0.75f, -4.0f}), {.keep_accumulators = true});
  // 2 - 4 - 24 = -26; -256 + 0 - 8 = -264.
  EXPECT_EQ(r.accumulators.at(0).data, (std::vector<int32_t>{-26, -264}));
  EXPECT_EQ(r.logits.data, (std::vector<float>{-26.0f * 0.1f, -264.0f}));
}

TEST(DeployReference, PoolsFollowTorchRules) {
  Model m;
  m.input = {1, 2, 2};
  m.layers = {testing::pool_layer(Op::AvgPool, "with_pad", 0, 1, 2, 2, 1, false, true),
              testing::pool_layer(Op::AvgPool, "without_pad", 0, 2, 2, 2, 1, false, false),
              testing::pool_layer(Op::MaxPool, "max", 0, 3, 2, 2, 1),
              testing::simple_layer(Op::Concat, "all", {1, 2, 3}, 4),
              testing::simple_layer(Op::Flatten, "flat", {4}, 5)};
  m.output = 5;
  auto v = values_of(m, batch({1, 2, 2}, {1, 2, 3, 4}));
  // Padding 1, kernel 2, stride 2: every window holds one input and three padding cells.
  EXPECT_EQ(v.at(1).data, (std::vector<float>{0.25f, 0.5f, 0.75f, 1.0f}));
  EXPECT_EQ(v.at(2).data, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(v.at(3).data, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(v.at(5).shape, (Shape{12, 1, 1}));
  // Ceil mode keeps a last partial window (3 -> 2), max-pool padding never wins over negative values.
  Model c;
  c.input = {1, 3, 3};
  c.layers = {testing::pool_layer(Op::MaxPool, "max", 0, 1, 2, 2, 0, /*ceil_mode=*/true),
              testing::simple_layer(Op::Flatten, "flat", {1}, 2)};
  c.output = 2;
  auto w = values_of(c, batch({1, 3, 3}, {-1, -2, -3, -4, -5, -6, -7, -8, -9}));
  EXPECT_EQ(w.at(1).data, (std::vector<float>{-1, -3, -7, -9}));
}

TEST(DeployReference, NormalizeAndAddAreFloat32AsTheTrainingCode) {
  Model m;
  m.input = {2, 1, 1};
  Layer n = testing::simple_layer(Op::Normalize, "normalize", {0}, 1);
  n.normalize = {{0.5f, 0.25f}, {2.0f, 4.0f}};
  Layer add = testing::simple_layer(Op::Add, "add", {0, 1}, 2);
  add.activation = Activation::Relu;
  m.layers = {n, add};
  m.output = 2;
  auto v = values_of(m, batch({2, 1, 1}, {1.0f, 0.0f}));
  EXPECT_EQ(v.at(1).data, (std::vector<float>{1.0f, -1.0f}));  // (1 - 0.5) * 2, (0 - 0.25) * 4
  EXPECT_EQ(v.at(2).data, (std::vector<float>{2.0f, 0.0f}));   // relu(x + n)
}

// acc[b, o, oy, ox] by gathering each window into a vector and taking dot products of decoded codes in
// double: another formulation than the interpreter's loop nest.
std::vector<double> direct_accumulators(const Conv& c, const IntBatch& codes, Shape out) {
  std::vector<int32_t> w = weight_codes(c);
  std::vector<double> acc;
  const int64_t cin = c.in_channels / c.groups, cout = c.out_channels / c.groups;
  for (int64_t b = 0; b < codes.n; ++b)
    for (int64_t o = 0; o < c.out_channels; ++o)
      for (int64_t oy = 0; oy < out.h; ++oy)
        for (int64_t ox = 0; ox < out.w; ++ox) {
          std::vector<double> patch;
          for (int64_t ci = 0; ci < cin; ++ci)
            for (int64_t ky = 0; ky < c.kernel_h; ++ky)
              for (int64_t kx = 0; kx < c.kernel_w; ++kx) {
                int64_t y = oy * c.stride_h + ky - c.pad_h, x = ox * c.stride_w + kx - c.pad_w;
                bool inside = y >= 0 && y < codes.shape.h && x >= 0 && x < codes.shape.w;
                patch.push_back(inside ? codes.at(b, (o / cout) * cin + ci, y, x) : 0.0);
              }
          double sum = 0;
          for (std::size_t k = 0; k < patch.size(); ++k)
            sum += static_cast<double>(w[static_cast<std::size_t>(o) * patch.size() + k]) * patch[k];
          acc.push_back(sum);
        }
  return acc;
}

TEST(DeployReference, AccumulatorsEqualDirectComputationsOfTheCodes) {
  for (const Model& m : testing::all_test_models()) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    FloatBatch x(2, m.input);
    for (float& v : x.data) v = pixel(rng);
    auto r = run_reference(m, x, {.keep_accumulators = true, .keep_values = true});
    std::size_t integer_layers = 0;
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
      const Layer& l = m.layers[i];
      if ((l.op != Op::Conv2d && l.op != Op::Linear) || !l.conv.integer()) {
        EXPECT_FALSE(r.accumulators.contains(i)) << l.name;
        continue;
      }
      ++integer_layers;
      const IntBatch& acc = r.accumulators.at(i);
      IntBatch codes = quantize_batch(r.values.at(l.inputs[0]), l.conv.input_quant);
      std::vector<double> direct = direct_accumulators(l.conv, codes, acc.shape);
      ASSERT_EQ(direct.size(), acc.data.size()) << l.name;
      for (std::size_t e = 0; e < direct.size(); ++e) ASSERT_EQ(direct[e], acc.data[e]) << l.name << " " << e;
      // The epilogue: y = float(acc) * mul + bias, then the activation.
      const FloatBatch& y = r.values.at(l.output);
      for (std::size_t e = 0; e < y.data.size(); ++e) {
        const auto o = static_cast<std::size_t>(e / static_cast<std::size_t>(acc.shape.h * acc.shape.w)) %
                       static_cast<std::size_t>(acc.shape.c);
        float pre = static_cast<float>(acc.data[e]) * l.conv.mul[o] + l.conv.bias[o];
        float expected = l.activation == Activation::None   ? pre
                         : l.activation == Activation::Relu ? std::max(pre, 0.0f)
                                                            : std::min(std::max(pre, 0.0f), 6.0f);
        ASSERT_EQ(y.data[e], expected) << l.name << " " << e;
      }
    }
    EXPECT_GT(integer_layers, 0u);
    EXPECT_EQ(r.logits.shape, r.values.at(m.output).shape);
  }
}

TEST(DeployReference, OddCodeAccumulatorsEqualTheShiftAddKernel) {
  // Odd weight codes x unsigned activation codes: the shift-add dot product over bit-planes (DESIGN §1.3)
  // gives the interpreter's accumulators exactly.
  Layer l = testing::conv_layer("pw", 0, 1,
                                {.in = 100,
                                 .out = 5,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 3},
                                21);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> code(0, 7);
  IntBatch a(1, {100, 1, 1});
  for (int32_t& v : a.data) v = code(rng);
  IntBatch acc = integer_accumulators(l, a);
  std::vector<int32_t> w = weight_codes(l.conv);
  auto activations = quant::pack_unsigned_codes(a.data.data(), 100, 3);
  for (int64_t o = 0; o < 5; ++o) {
    auto weights = quant::pack_odd_codes(w.data() + o * 100, 100, 2);
    EXPECT_EQ(acc.data[static_cast<std::size_t>(o)], quant::shift_add_dot(weights, activations)) << o;
  }
}

TEST(DeployReference, RejectsWrongInputs) {
  Model m = testing::resnet_block_model();
  EXPECT_THROW(run_reference(m, FloatBatch(1, {3, 4, 4})), InputError);
  FloatBatch x(1, m.input);
  x.data[5] = std::nanf("");
  EXPECT_THROW(run_reference(m, x), InputError);
  m.layers[2].conv.weights.bits = 9;
  EXPECT_THROW(run_reference(m, FloatBatch(1, m.input)), InputError);
  // Codes outside the quantizer's range can overflow the accumulator; integer_accumulators says so.
  Layer fc = testing::conv_layer("fc", 0, 1,
                                 {.in = 4,
                                  .out = 1,
                                  .format = WeightFormat::IntCodes,
                                  .weight_bits = 8,
                                  .kind = ActKind::Unsigned,
                                  .act_bits = 8,
                                  .linear = true},
                                 2);
  fc.conv.weights.codes = {-128, -128, -128, -128};
  IntBatch huge(1, {4, 1, 1});
  huge.data.assign(4, 1 << 30);
  EXPECT_THROW(integer_accumulators(fc, huge), InputError);
}

}  // namespace
}  // namespace r2q::deploy
