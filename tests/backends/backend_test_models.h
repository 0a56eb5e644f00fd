// The models of the CPU backend's engine tests, with activation scales calibrated on sample inputs.
// Small networks of every block the project uses, so that the quantizers see spread codes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/deploy/input_affine.h"
#include "core/deploy/reference.h"
#include "tests/support/deploy_test_models.h"

namespace r2q::backends::backend_testing {

using deploy::Activation;
using deploy::ActKind;
using deploy::FloatBatch;
using deploy::Layer;
using deploy::Model;
using deploy::Op;
using deploy::WeightFormat;
using deploy::testing::conv_layer;
using deploy::testing::simple_layer;

// LeNet-5's shape at a small size: a 5x5 int8 first layer on normalised pixels, pools, a 5x5 W2A2 conv over
// 6 channels (not a multiple of 8: the kernel's general packing), flatten, a W2A2 linear over K = 72 (two
// words per plane) and an 8-bit last layer.
inline Model lenet_model() {
  Model m;
  m.input = {1, 12, 12};
  m.layers.push_back(deploy::testing::normalize_layer(1, 1));
  m.layers.push_back(conv_layer("conv1", 1, 2,
                                {.in = 1,
                                 .out = 6,
                                 .kernel = 5,
                                 .format = WeightFormat::IntCodes,
                                 .weight_bits = 8,
                                 .activation = Activation::Relu},
                                21));
  m.layers.push_back(deploy::testing::pool_layer(Op::MaxPool, "pool1", 2, 3, 2, 2, 0));
  m.layers.push_back(conv_layer("conv2", 3, 4,
                                {.in = 6,
                                 .out = 18,
                                 .kernel = 5,
                                 .pad = 2,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 2,
                                 .activation = Activation::Relu},
                                22));
  m.layers.push_back(deploy::testing::pool_layer(Op::AvgPool, "pool2", 4, 5, 2, 2, 0));
  m.layers.push_back(simple_layer(Op::Flatten, "flatten", {5}, 6));
  m.layers.push_back(conv_layer("fc1", 6, 7,
                                {.in = 72,
                                 .out = 20,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 2,
                                 .activation = Activation::Relu,
                                 .linear = true},
                                23));
  m.layers.push_back(conv_layer("fc2", 7, 8,
                                {.in = 20,
                                 .out = 10,
                                 .format = WeightFormat::IntCodes,
                                 .weight_bits = 8,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 8,
                                 .linear = true},
                                24));
  m.output = 8;
  return m;
}

inline deploy::testing::ConvOptions w2a2(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                         Activation activation) {
  return {.in = in,
          .out = out,
          .kernel = kernel,
          .stride = stride,
          .pad = kernel / 2,
          .format = WeightFormat::OddPlanes,
          .weight_bits = 2,
          .kind = ActKind::Unsigned,
          .act_bits = 2,
          .activation = activation};
}

// ResNet-20's widths (16 and 32 channels: whole bytes, the kernels' fast packing) with only W2A2 layers, so
// that the plan's weights are all bit-planes.
inline Model w2_model() {
  Model m;
  m.input = {16, 8, 8};
  m.layers.push_back(conv_layer("s1.conv1", 0, 1, w2a2(16, 16, 3, 1, Activation::Relu), 31));
  m.layers.push_back(conv_layer("s1.conv2", 1, 2, w2a2(16, 16, 3, 1, Activation::None), 32));
  Layer add = simple_layer(Op::Add, "s1.add", {0, 2}, 3);
  add.activation = Activation::Relu;
  m.layers.push_back(add);
  m.layers.push_back(conv_layer("s2.conv1", 3, 4, w2a2(16, 32, 3, 2, Activation::Relu), 33));
  m.layers.push_back(conv_layer("s2.conv2", 4, 5, w2a2(32, 32, 3, 1, Activation::None), 34));
  Layer shortcut = simple_layer(Op::ChannelPadSubsample, "s2.shortcut", {3}, 6);
  shortcut.shortcut = {2, 8, 8};
  m.layers.push_back(shortcut);
  Layer add2 = simple_layer(Op::Add, "s2.add", {5, 6}, 7);
  add2.activation = Activation::Relu;
  m.layers.push_back(add2);
  m.layers.push_back(conv_layer("s3.conv1", 7, 8, w2a2(32, 64, 3, 2, Activation::Relu6), 35));
  m.layers.push_back(simple_layer(Op::GlobalAvgPool, "pool", {8}, 9));
  // 16 outputs, a whole number of the kernel's 8-channel blocks (10 would be padded to 16).
  deploy::testing::ConvOptions fc = w2a2(64, 16, 1, 1, Activation::None);
  fc.linear = true;
  m.layers.push_back(conv_layer("fc", 9, 10, fc, 36));
  m.output = 10;
  return m;
}

// The kernel epilogue's three activations side by side, feeding float ops only (concat, mean), so that the
// logits show every value, ReLU6's clip at 6 included (a quantized consumer would hide it in its own clamp).
inline Model epilogue_model() {
  Model m;
  m.input = {8, 5, 5};
  const Activation activations[] = {Activation::None, Activation::Relu, Activation::Relu6};
  for (int i = 0; i < 3; ++i)
    m.layers.push_back(conv_layer("conv" + std::to_string(i), 0, 1 + i, w2a2(8, 8, 3, 1, activations[i]),
                                  static_cast<uint32_t>(40 + i)));
  m.layers.push_back(simple_layer(Op::Concat, "concat", {1, 2, 3}, 4));
  m.layers.push_back(simple_layer(Op::GlobalAvgPool, "mean", {4}, 5));
  m.output = 5;
  return m;
}

// Image b of batch x, as a batch of one.
inline FloatBatch image_of(const FloatBatch& x, int64_t b) {
  FloatBatch one(1, x.shape);
  const auto size = static_cast<std::ptrdiff_t>(x.shape.size());
  std::copy(x.data.begin() + b * size, x.data.begin() + (b + 1) * size, one.data.begin());
  return one;
}

inline FloatBatch random_input(const Model& m, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  FloatBatch x(n, m.input);
  for (float& v : x.data) v = pixel(rng);
  return x;
}

// The builders draw activation scales without looking at the data, so most codes come out saturated or 0
// and a comparison would say little. This sets each quantized layer's scale, in model order, from the values
// it sees on sample inputs: the median nonzero |x| maps to `median_code` times the largest code (half by
// default), which spreads the codes over the whole range. At one half the median sample, and every sample of
// the same accumulator and channel, lies exactly on a rounding tie: a stern test of bit-exact engines, which
// an f32 engine (one ulp off) rounds either way.
inline Model calibrated(Model m, float median_code = 0.5f) {
  const FloatBatch x = random_input(m, 2, 99);
  for (Layer& l : m.layers) {
    deploy::InputQuant& q = l.conv.input_quant;
    // Pixel codes keep their 1/255 (an input affine stands for the normalisation it folds).
    if ((l.op != Op::Conv2d && l.op != Op::Linear) || q.kind == ActKind::None || l.conv.input_affine.on)
      continue;
    const deploy::ReferenceResult r = deploy::run_reference(m, x, {.keep_values = true});
    std::vector<float> magnitudes;
    for (float v : r.values.at(l.inputs.front()).data)
      if (v != 0.0f) magnitudes.push_back(std::fabs(v));
    if (magnitudes.empty()) continue;
    std::nth_element(magnitudes.begin(), magnitudes.begin() + magnitudes.size() / 2, magnitudes.end());
    q.scale = magnitudes[magnitudes.size() / 2] / (median_code * static_cast<float>(q.max_code));
  }
  return m;
}

struct NamedModel {
  std::string name;
  Model model;
  bool allocation_free = false;  // no layer runs through deploy::integer_accumulators, which allocates
};

// The float loops' tiles (float_gemm: 4 or 8 channels x 8 to 16 pixels, by ISA) and their remainders: a
// float-input grouped 3x3 conv over 7x7 (49 pixels; 5 channels per group), then a float-weight conv on 8-bit
// codes with stride 2 (16 pixels, 9 channels).
inline Model float_loops_model() {
  using deploy::testing::ConvOptions;
  Model m;
  m.input = {4, 7, 7};
  m.layers.push_back(deploy::testing::normalize_layer(4, 1));
  m.layers.push_back(conv_layer(
      "grouped", 1, 2,
      {.in = 4, .out = 10, .kernel = 3, .pad = 1, .groups = 2, .activation = Activation::Relu}, 31));
  m.layers.push_back(conv_layer(
      "strided", 2, 3,
      {.in = 10, .out = 9, .kernel = 3, .stride = 2, .pad = 1, .kind = ActKind::Unsigned, .act_bits = 8},
      32));
  m.layers.push_back(conv_layer("tail", 3, 4,
                                {.in = 9,
                                 .out = 3,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 2},
                                33));
  m.layers.push_back(simple_layer(Op::GlobalAvgPool, "mean", {4}, 5));
  m.output = 5;
  return m;
}

// The model with its input normalisation folded into the first layer (format version 2: pixel codes).
inline Model folded(Model m) {
  if (!deploy::fold_input_normalize(m)) throw std::logic_error("folded: nothing to fold");
  return m;
}

// ResNet's stem on pixel codes at an odd size, 36 channels (whole vectors and a remainder on every ISA), a
// strided 7x7 stem beside it (ImageNet's: four row classes of offset terms) and a strided 3x3 one of 16; each
// read by a W2A2 kernel layer.
inline Model pixel_stem_model() {
  Model m;
  m.input = {3, 9, 11};
  m.layers.push_back(deploy::testing::normalize_layer(3, 1));
  m.layers.push_back(conv_layer("stem", 1, 2,
                                {.in = 3,
                                 .out = 36,
                                 .kernel = 3,
                                 .pad = 1,
                                 .format = WeightFormat::IntCodes,
                                 .weight_bits = 8,
                                 .activation = Activation::Relu},
                                51));
  m.layers.push_back(conv_layer("stem7", 1, 3,
                                {.in = 3,
                                 .out = 16,
                                 .kernel = 7,
                                 .stride = 2,
                                 .pad = 3,
                                 .format = WeightFormat::IntCodes,
                                 .weight_bits = 8,
                                 .activation = Activation::None},
                                52));
  m.layers.push_back(conv_layer("conv", 2, 4, w2a2(36, 16, 3, 2, Activation::Relu), 53));
  // 16 channels, 3 wide: AVX-512 VNNI's byte sums (with stride 2), the float sums elsewhere.
  m.layers.push_back(conv_layer("stem_s2", 1, 5,
                                {.in = 3,
                                 .out = 16,
                                 .kernel = 3,
                                 .stride = 2,
                                 .pad = 1,
                                 .format = WeightFormat::IntCodes,
                                 .weight_bits = 8,
                                 .activation = Activation::Relu6},
                                54));
  // A kernel reader of the 7x7 stem (no activation: its negative values clamp to code 0); the shift-add
  // engine writes the readers' codes of both stems in their epilogues.
  m.layers.push_back(conv_layer("conv7", 3, 8, w2a2(16, 16, 3, 1, Activation::Relu), 55));
  // The strided 3x3 stem read by a kernel layer and a max pool: NCHW (the pool's order), so its kernel reader
  // quantizes by itself.
  m.layers.push_back(conv_layer("conv_s2", 5, 9, w2a2(16, 16, 3, 1, Activation::Relu), 56));
  m.layers.push_back(deploy::testing::pool_layer(Op::MaxPool, "pool_s2", 5, 10, 3, 1, 1));
  m.layers.push_back(simple_layer(Op::Add, "add", {3, 4, 5, 8, 9, 10}, 6));
  m.layers.push_back(simple_layer(Op::GlobalAvgPool, "pool", {6}, 7));
  m.output = 7;
  return m;
}

inline const std::vector<NamedModel>& test_models() {
  static const std::vector<NamedModel> models = {
      {"resnet_block", calibrated(deploy::testing::resnet_block_model())},
      {"mobilenet_block", calibrated(deploy::testing::mobilenet_block_model())},
      {"fire", calibrated(deploy::testing::fire_model()), true},
      {"lenet_head", calibrated(deploy::testing::lenet_head_model()), true},
      {"lenet", calibrated(lenet_model())},
      {"w2_resnet_widths", calibrated(w2_model()), true},
      {"epilogues", calibrated(epilogue_model()), true},
      {"float_loops", calibrated(float_loops_model()), true},
      {"lenet_pixel_codes", calibrated(folded(lenet_model()))},
      {"pixel_stems", calibrated(folded(pixel_stem_model())), true}};
  return models;
}

}  // namespace r2q::backends::backend_testing
