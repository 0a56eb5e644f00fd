// ResNet-18 (He et al., CVPR 2016) for ImageNet-sized inputs.
#include "models/resnet18.h"

#include <torch/torch.h>

#include "core/nn/to_deploy.h"

namespace r2q::models {

ProjectionBlockImpl::ProjectionBlockImpl(int64_t in_planes, int64_t planes, int64_t stride,
                                         const quant::LayerFactory& layers)
    : layers_(layers) {
  // Block inputs are the previous block's (or the stem's) activated output.
  const bool s = layers.activations_signed();
  conv1_ = register_module(
      "conv1",
      layers.conv(
          {.in = in_planes, .out = planes, .kernel = 3, .stride = stride, .padding = 1, .input_signed = s}));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2_ = register_module(
      "conv2", layers.conv({.in = planes, .out = planes, .kernel = 3, .padding = 1, .input_signed = s}));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
  if (stride != 1 || in_planes != planes) {
    downsample_ = register_module(
        "downsample",
        layers.conv({.in = in_planes, .out = planes, .kernel = 1, .stride = stride, .input_signed = s}));
    downsample_bn_ = register_module("downsample_bn", torch::nn::BatchNorm2d(planes));
  }
}

torch::Tensor ProjectionBlockImpl::forward(const torch::Tensor& x) {
  auto out = layers_.activation(bn1_(conv1_(x)));
  out = bn2_(conv2_(out));
  auto shortcut = downsample_ ? downsample_bn_(downsample_(x)) : x;
  return layers_.activation(out + shortcut);
}

int ProjectionBlockImpl::to_deploy(nn::DeployBuilder& b, const std::string& prefix, int x) const {
  const deploy::Activation act = nn::factory_activation(layers_);
  int out = b.conv(prefix + ".conv1", *conv1_, bn1_.get(), act, x);
  out = b.conv(prefix + ".conv2", *conv2_, bn2_.get(), deploy::Activation::None, out);
  const int shortcut = downsample_ ? b.conv(prefix + ".downsample", *downsample_, downsample_bn_.get(),
                                            deploy::Activation::None, x)
                                   : x;
  return b.add(prefix + ".add", {out, shortcut}, act);
}

ResNet18::ResNet18(const InputShape& s, const quant::LayerFactory& layers) : layers_(layers) {
  normalize_ = register_module("normalize", Normalize(s.mean, s.std));
  stem_ = register_module("stem", layers.conv({.in = s.channels,
                                               .out = 64,
                                               .kernel = 7,
                                               .stride = 2,
                                               .padding = 3,
                                               .role = quant::Role::First,
                                               .input_signed = true}));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(64));
  int64_t in_planes = 64;
  for (int64_t planes : {64, 128, 256, 512}) {
    torch::nn::Sequential stage;
    for (int b = 0; b < 2; ++b) {
      stage->push_back(ProjectionBlock(in_planes, planes, (b == 0 && planes != 64) ? 2 : 1, layers));
      in_planes = planes;
    }
    stages_.push_back(register_module("stage" + std::to_string(stages_.size() + 1), stage));
  }
  fc_ = register_module("fc", layers.linear({.in = 512,
                                             .out = s.classes,
                                             .role = quant::Role::Last,
                                             .input_signed = layers.activations_signed()}));

  // He initialisation for convolutions (fan-out, ReLU), unit BatchNorm, default linear (as torchvision).
  init_convolutions_he(*this);
}

torch::Tensor ResNet18::forward(const torch::Tensor& pixels) {
  auto x = layers_.activation(stem_bn_(stem_(normalize_(pixels))));
  x = torch::max_pool2d(x, 3, 2, 1);
  for (auto& stage : stages_) {
    x = stage->forward(x);
    stage_output(x);
  }
  return fc_(x.mean({2, 3}));
}

int ResNet18::to_deploy(nn::DeployBuilder& b) const {
  int x = b.normalize("normalize", *normalize_, deploy::kInputValue);
  x = b.conv("stem", *stem_, stem_bn_.get(), nn::factory_activation(layers_), x);
  x = b.max_pool("pool1",
                 {.kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}, x);
  for (std::size_t s = 0; s < stages_.size(); ++s)
    for (std::size_t i = 0; i < stages_[s]->size(); ++i)
      x = stages_[s]->ptr(i)->as<ProjectionBlockImpl>()->to_deploy(
          b, "stage" + std::to_string(s + 1) + "." + std::to_string(i), x);
  x = b.global_avg_pool("pool", x);
  return b.linear("fc", *fc_, deploy::Activation::None, x);
}

}  // namespace r2q::models
