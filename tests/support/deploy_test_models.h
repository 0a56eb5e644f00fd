// Small hand-built deployment models for the deploy tests: the building blocks of the project's networks
// (ResNet option-A block, MobileNetV2 depthwise + pointwise, SqueezeNet fire with concat, LeNet's linear
// head) with deterministic pseudo-random weights in every format.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/deploy/codes.h"
#include "core/deploy/model.h"

namespace r2q::deploy::testing {

struct ConvOptions {
  int64_t in = 1, out = 1, kernel = 1, stride = 1, pad = 0, groups = 1;
  WeightFormat format = WeightFormat::Float;
  int weight_bits = 0;
  ActKind kind = ActKind::None;
  int act_bits = 0;
  Activation activation = Activation::None;
  bool linear = false;
};

inline Layer conv_layer(const std::string& name, int input, int output, const ConvOptions& o, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  Layer l;
  l.op = o.linear ? Op::Linear : Op::Conv2d;
  l.name = name;
  l.inputs = {input};
  l.output = output;
  l.activation = o.activation;
  Conv& c = l.conv;
  c.in_channels = o.in;
  c.out_channels = o.out;
  c.kernel_h = c.kernel_w = o.kernel;
  c.stride_h = c.stride_w = o.stride;
  c.pad_h = c.pad_w = o.pad;
  c.groups = o.groups;
  if (o.kind != ActKind::None) {
    c.input_quant = {o.kind, o.act_bits, 0.05f + 0.1f * std::abs(real(rng)),
                     kind_min_code(o.kind, o.act_bits), kind_max_code(o.kind, o.act_bits)};
  }
  const auto n = static_cast<std::size_t>(c.out_channels * c.k());
  c.weights.format = o.format;
  c.weights.bits = o.weight_bits;
  if (o.format == WeightFormat::Float) {
    for (std::size_t i = 0; i < n; ++i) c.weights.values.push_back(real(rng));
  } else {
    if (o.format == WeightFormat::OddPlanes) {
      std::vector<int32_t> codes(n);
      std::uniform_int_distribution<int32_t> u(0, (1 << o.weight_bits) - 1);
      for (auto& m : codes) m = 2 * u(rng) - ((1 << o.weight_bits) - 1);
      c.weights.planes = pack_odd_planes(codes, c.out_channels, c.k(), o.weight_bits);
    } else {
      std::uniform_int_distribution<int32_t> u(-(1 << (o.weight_bits - 1)), (1 << (o.weight_bits - 1)) - 1);
      for (std::size_t i = 0; i < n; ++i) c.weights.codes.push_back(static_cast<int8_t>(u(rng)));
    }
    for (int64_t i = 0; i < c.out_channels; ++i)
      c.weights.scale.push_back(0.01f + 0.1f * std::abs(real(rng)));
  }
  for (int64_t i = 0; i < c.out_channels; ++i) {
    c.mul.push_back(0.5f + std::abs(real(rng)));
    c.bias.push_back(0.25f * real(rng));
  }
  return l;
}

inline Layer simple_layer(Op op, const std::string& name, std::vector<int> inputs, int output) {
  Layer l;
  l.op = op;
  l.name = name;
  l.inputs = std::move(inputs);
  l.output = output;
  return l;
}

inline Layer normalize_layer(int64_t channels, int output) {
  Layer l = simple_layer(Op::Normalize, "normalize", {kInputValue}, output);
  for (int64_t c = 0; c < channels; ++c) {
    l.normalize.mean.push_back(0.4f + 0.05f * static_cast<float>(c));
    l.normalize.inv_std.push_back(1.0f / (0.25f + 0.01f * static_cast<float>(c)));
  }
  return l;
}

inline Layer pool_layer(Op op, const std::string& name, int input, int output, int64_t kernel, int64_t stride,
                        int64_t pad, bool ceil_mode = false, bool count_include_pad = true) {
  Layer l = simple_layer(op, name, {input}, output);
  l.pool = {kernel, kernel, stride, stride, pad, pad, ceil_mode, count_include_pad};
  return l;
}

// ResNet-20's stem and a downsampling basic block with the option-A shortcut, then pool + linear head.
inline Model resnet_block_model() {
  Model m;
  m.input = {3, 8, 8};
  m.metadata = {{"run_key", "abc123"}, {"model", "resnet20"}, {"classes", 10}};
  m.layers.push_back(normalize_layer(3, 1));
  // First layer: float (normalised) input, 8-bit LSQ weights.
  m.layers.push_back(conv_layer("stem", 1, 2,
                                {.in = 3,
                                 .out = 4,
                                 .kernel = 3,
                                 .pad = 1,
                                 .format = WeightFormat::IntCodes,
                                 .weight_bits = 8,
                                 .activation = Activation::Relu},
                                1));
  m.layers.push_back(conv_layer("block.conv1", 2, 3,
                                {.in = 4,
                                 .out = 8,
                                 .kernel = 3,
                                 .stride = 2,
                                 .pad = 1,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 2,
                                 .activation = Activation::Relu},
                                2));
  m.layers.push_back(conv_layer("block.conv2", 3, 4,
                                {.in = 8,
                                 .out = 8,
                                 .kernel = 3,
                                 .pad = 1,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 2},
                                3));
  Layer shortcut = simple_layer(Op::ChannelPadSubsample, "block.shortcut", {2}, 5);
  shortcut.shortcut = {2, 2, 2};
  m.layers.push_back(shortcut);
  Layer add = simple_layer(Op::Add, "block.add", {4, 5}, 6);
  add.activation = Activation::Relu;
  m.layers.push_back(add);
  m.layers.push_back(simple_layer(Op::GlobalAvgPool, "pool", {6}, 7));
  m.layers.push_back(conv_layer("fc", 7, 8,
                                {.in = 8,
                                 .out = 10,
                                 .format = WeightFormat::IntCodes,
                                 .weight_bits = 8,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 8,
                                 .linear = true},
                                4));
  m.output = 8;
  return m;
}

// MobileNetV2's inverted residual: expand (signed input), depthwise with ReLU6, linear projection, residual.
inline Model mobilenet_block_model() {
  Model m;
  m.input = {4, 6, 6};
  m.layers.push_back(conv_layer("expand", 0, 1,
                                {.in = 4,
                                 .out = 12,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 3,
                                 .kind = ActKind::Signed,
                                 .act_bits = 4,
                                 .activation = Activation::Relu6},
                                5));
  m.layers.push_back(conv_layer("depthwise", 1, 2,
                                {.in = 12,
                                 .out = 12,
                                 .kernel = 3,
                                 .pad = 1,
                                 .groups = 12,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 3,
                                 .activation = Activation::Relu6},
                                6));
  m.layers.push_back(conv_layer("project", 2, 3,
                                {.in = 12,
                                 .out = 4,
                                 .format = WeightFormat::IntCodes,
                                 .weight_bits = 4,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 3},
                                7));
  m.layers.push_back(simple_layer(Op::Add, "residual", {0, 3}, 4));
  m.layers.push_back(simple_layer(Op::GlobalAvgPool, "pool", {4}, 5));
  m.output = 5;
  return m;
}

// SqueezeNet's fire module (squeeze, two expands, concat) after a ceil-mode max-pool; 1x1 conv classifier
// with float weights, average-pooled.
inline Model fire_model() {
  Model m;
  m.input = {4, 7, 7};
  m.layers.push_back(pool_layer(Op::MaxPool, "pool1", 0, 1, 3, 2, 0, /*ceil_mode=*/true));  // 7 -> 3
  m.layers.push_back(conv_layer("fire.squeeze", 1, 2,
                                {.in = 4,
                                 .out = 2,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 1,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 1,
                                 .activation = Activation::Relu},
                                8));
  m.layers.push_back(conv_layer("fire.expand1x1", 2, 3,
                                {.in = 2,
                                 .out = 3,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 2,
                                 .activation = Activation::Relu},
                                9));
  m.layers.push_back(conv_layer("fire.expand3x3", 2, 4,
                                {.in = 2,
                                 .out = 3,
                                 .kernel = 3,
                                 .pad = 1,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 2,
                                 .activation = Activation::Relu},
                                10));
  m.layers.push_back(simple_layer(Op::Concat, "fire.concat", {3, 4}, 5));
  m.layers.push_back(conv_layer(
      "classifier", 5, 6,
      {.in = 6, .out = 5, .format = WeightFormat::Float, .kind = ActKind::Unsigned, .act_bits = 8}, 11));
  m.layers.push_back(pool_layer(Op::AvgPool, "avg", 6, 7, 2, 1, 1, false, /*count_include_pad=*/false));
  m.layers.push_back(simple_layer(Op::GlobalAvgPool, "mean", {7}, 8));
  m.output = 8;
  return m;
}

// LeNet's tail: max-pool, flatten, two linear layers (float weights on the float input, then 2-bit odd codes
// over K = 70 > 64, so each bit-plane spans two words).
inline Model lenet_head_model() {
  Model m;
  m.input = {3, 4, 4};
  m.layers.push_back(pool_layer(Op::MaxPool, "pool", 0, 1, 2, 2, 0));
  m.layers.push_back(simple_layer(Op::Flatten, "flatten", {1}, 2));
  m.layers.push_back(
      conv_layer("fc1", 2, 3, {.in = 12, .out = 70, .activation = Activation::Relu, .linear = true}, 12));
  m.layers.push_back(conv_layer("fc2", 3, 4,
                                {.in = 70,
                                 .out = 4,
                                 .format = WeightFormat::OddPlanes,
                                 .weight_bits = 2,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 8,
                                 .linear = true},
                                13));
  m.output = 4;
  return m;
}

inline std::vector<Model> all_test_models() {
  return {resnet_block_model(), mobilenet_block_model(), fire_model(), lenet_head_model()};
}

}  // namespace r2q::deploy::testing
