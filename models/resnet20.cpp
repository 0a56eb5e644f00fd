// ResNet-20 for CIFAR-sized inputs.
#include "models/resnet20.h"

#include <torch/torch.h>

#include "core/nn/to_deploy.h"

namespace r2q::models {
namespace {

quant::ConvSpec conv3x3(int64_t in, int64_t out, int64_t stride, quant::Role role, bool input_signed) {
  return {.in = in,
          .out = out,
          .kernel = 3,
          .stride = stride,
          .padding = 1,
          .role = role,
          .input_signed = input_signed};
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride,
                               const quant::LayerFactory& layers)
    : layers_(layers), stride_(stride), pad_channels_(planes - in_planes) {
  const bool s = layers.activations_signed();
  conv1_ = register_module("conv1", layers.conv(conv3x3(in_planes, planes, stride, quant::Role::Middle, s)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2_ = register_module("conv2", layers.conv(conv3x3(planes, planes, 1, quant::Role::Middle, s)));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = layers_.activation(bn1_(conv1_(x)));
  out = bn2_(conv2_(out));
  torch::Tensor shortcut = x;
  if (stride_ != 1 || pad_channels_ != 0) {
    using torch::indexing::None;
    using torch::indexing::Slice;
    shortcut = x.index({Slice(), Slice(), Slice(None, None, stride_), Slice(None, None, stride_)});
    int64_t before = pad_channels_ / 2;
    shortcut = torch::constant_pad_nd(shortcut, {0, 0, 0, 0, before, pad_channels_ - before});
  }
  return layers_.activation(out + shortcut);
}

int BasicBlockImpl::to_deploy(nn::DeployBuilder& b, const std::string& prefix, int x) const {
  const deploy::Activation act = nn::factory_activation(layers_);
  int out = b.conv(prefix + ".conv1", *conv1_, bn1_.get(), act, x);
  out = b.conv(prefix + ".conv2", *conv2_, bn2_.get(), deploy::Activation::None, out);
  int shortcut = x;
  if (stride_ != 1 || pad_channels_ != 0) {
    const int64_t before = pad_channels_ / 2;
    shortcut = b.channel_pad_subsample(
        prefix + ".shortcut", {.stride = stride_, .pad_before = before, .pad_after = pad_channels_ - before},
        x);
  }
  return b.add(prefix + ".add", {out, shortcut}, act);
}

ResNet20::ResNet20(const InputShape& s, const quant::LayerFactory& layers, int blocks_per_stage)
    : layers_(layers) {
  normalize_ = register_module("normalize", Normalize(s.mean, s.std));
  stem_ = register_module("stem", layers.conv(conv3x3(s.channels, 16, 1, quant::Role::First, true)));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(16));
  int64_t in_planes = 16;
  for (int64_t planes : {16, 32, 64}) {
    torch::nn::Sequential stage;
    for (int b = 0; b < blocks_per_stage; ++b) {
      int64_t stride = (b == 0 && planes != 16) ? 2 : 1;
      stage->push_back(BasicBlock(in_planes, planes, stride, layers));
      in_planes = planes;
    }
    stages_.push_back(register_module("stage" + std::to_string(stages_.size() + 1), stage));
  }
  fc_ = register_module("fc", layers.linear({.in = 64,
                                             .out = s.classes,
                                             .role = quant::Role::Last,
                                             .input_signed = layers.activations_signed()}));

  // He initialisation for convolutions (fan-out, ReLU), unit BatchNorm, default linear.
  init_convolutions_he(*this);
}

torch::Tensor ResNet20::forward(const torch::Tensor& pixels) {
  auto x = layers_.activation(stem_bn_(stem_(normalize_(pixels))));
  for (auto& stage : stages_) {
    x = stage->forward(x);
    stage_output(x);
  }
  return fc_(x.mean({2, 3}));
}

int ResNet20::to_deploy(nn::DeployBuilder& b) const {
  int x = b.normalize("normalize", *normalize_, deploy::kInputValue);
  x = b.conv("stem", *stem_, stem_bn_.get(), nn::factory_activation(layers_), x);
  for (std::size_t s = 0; s < stages_.size(); ++s)
    for (std::size_t i = 0; i < stages_[s]->size(); ++i)
      x = stages_[s]->ptr(i)->as<BasicBlockImpl>()->to_deploy(
          b, "stage" + std::to_string(s + 1) + "." + std::to_string(i), x);
  x = b.global_avg_pool("pool", x);
  return b.linear("fc", *fc_, deploy::Activation::None, x);
}

}  // namespace r2q::models
