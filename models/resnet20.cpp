// ResNet-20 for CIFAR-sized inputs.
#include "models/resnet20.h"

#include <torch/torch.h>

namespace r2q::models {
namespace {

torch::nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
    : stride_(stride), pad_channels_(planes - in_planes) {
  conv1_ = register_module("conv1", conv3x3(in_planes, planes, stride));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2_ = register_module("conv2", conv3x3(planes, planes, 1));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1_(conv1_(x)));
  out = bn2_(conv2_(out));
  torch::Tensor shortcut = x;
  if (stride_ != 1 || pad_channels_ != 0) {
    using torch::indexing::Slice;
    shortcut = x.index({Slice(), Slice(), Slice(torch::indexing::None, torch::indexing::None, stride_),
                        Slice(torch::indexing::None, torch::indexing::None, stride_)});
    int64_t before = pad_channels_ / 2;
    shortcut = torch::constant_pad_nd(shortcut, {0, 0, 0, 0, before, pad_channels_ - before});
  }
  return torch::relu(out + shortcut);
}

ResNet20::ResNet20(const InputShape& s, int blocks_per_stage) {
  normalize_ = register_module("normalize", Normalize(s.mean, s.std));
  stem_ = register_module("stem", conv3x3(s.channels, 16, 1));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(16));
  int64_t in_planes = 16;
  for (int64_t planes : {16, 32, 64}) {
    auto stage = torch::nn::Sequential();
    for (int b = 0; b < blocks_per_stage; ++b) {
      int64_t stride = (b == 0 && planes != 16) ? 2 : 1;
      stage->push_back(BasicBlock(in_planes, planes, stride));
      in_planes = planes;
    }
    stages_->push_back(stage);
  }
  register_module("stages", stages_);
  fc_ = register_module("fc", torch::nn::Linear(64, s.classes));

  // He initialisation for convolutions (fan-out, ReLU), unit BatchNorm, default linear.
  for (auto& m : modules(false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>())
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  }
}

torch::Tensor ResNet20::forward(const torch::Tensor& pixels) {
  auto x = torch::relu(stem_bn_(stem_(normalize_(pixels))));
  for (auto& stage : *stages_) x = stage->as<torch::nn::Sequential>()->forward(x);
  x = x.mean({2, 3});
  return fc_(x);
}

}  // namespace r2q::models
