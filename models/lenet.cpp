// LeNet-5.
#include "models/lenet.h"

#include <torch/torch.h>

#include "core/nn/to_deploy.h"
#include "core/util/error.h"

namespace r2q::models {

LeNet::LeNet(const InputShape& s, const quant::LayerFactory& layers) : layers_(layers) {
  // conv 5x5 pad 2 -> pool 2 -> conv 5x5 -> pool 2: 28 -> 14 -> 10 -> 5.
  int64_t h = (s.height / 2 - 4) / 2, w = (s.width / 2 - 4) / 2;
  if (h < 1 || w < 1)
    throw InputError("model lenet: input " + std::to_string(s.height) + "x" + std::to_string(s.width) +
                     " is too small (needs at least 12x12)");
  const bool signed_inputs = layers.activations_signed();
  using quant::Role;
  normalize_ = register_module("normalize", Normalize(s.mean, s.std));
  conv1_ = register_module(
      "conv1",
      layers.conv(
          {.in = s.channels, .out = 6, .kernel = 5, .padding = 2, .bias = true, .role = Role::First}));
  conv2_ = register_module(
      "conv2", layers.conv({.in = 6, .out = 16, .kernel = 5, .bias = true, .input_signed = signed_inputs}));
  fc1_ = register_module("fc1", layers.linear({.in = 16 * h * w, .out = 120, .input_signed = signed_inputs}));
  fc2_ = register_module("fc2", layers.linear({.in = 120, .out = 84, .input_signed = signed_inputs}));
  fc3_ = register_module(
      "fc3", layers.linear({.in = 84, .out = s.classes, .role = Role::Last, .input_signed = signed_inputs}));
}

torch::Tensor LeNet::forward(const torch::Tensor& pixels) {
  auto x = normalize_(pixels);
  x = torch::max_pool2d(layers_.activation(conv1_(x)), 2);
  stage_output(x);
  x = torch::max_pool2d(layers_.activation(conv2_(x)), 2);
  stage_output(x);
  x = x.flatten(1);
  x = layers_.activation(fc1_(x));
  x = layers_.activation(fc2_(x));
  stage_output(x);
  return fc3_(x);
}

int LeNet::to_deploy(nn::DeployBuilder& b) const {
  const deploy::Activation act = nn::factory_activation(layers_);
  const deploy::Pool pool2{.kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2};
  int x = b.normalize("normalize", *normalize_, deploy::kInputValue);
  x = b.max_pool("pool1", pool2, b.conv("conv1", *conv1_, nullptr, act, x));
  x = b.max_pool("pool2", pool2, b.conv("conv2", *conv2_, nullptr, act, x));
  x = b.flatten("flatten", x);
  x = b.linear("fc1", *fc1_, act, x);
  x = b.linear("fc2", *fc2_, act, x);
  return b.linear("fc3", *fc3_, deploy::Activation::None, x);
}

}  // namespace r2q::models
