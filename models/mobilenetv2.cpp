// MobileNetV2 (Sandler et al., CVPR 2018) for CIFAR-sized inputs.
#include "models/mobilenetv2.h"

#include <torch/torch.h>

#include "core/nn/to_deploy.h"

namespace r2q::models {
namespace {

// ReLU6 bounds activations for low-precision inference (paper §3.1). With binary activations the factory's
// activation is the identity and the sign needs the unclipped value, so the clamp applies only to ReLU.
torch::Tensor relu6(const quant::LayerFactory& layers, const torch::Tensor& x) {
  auto y = layers.activation(x);
  return layers.activations_signed() ? y : y.clamp_max(6.0);
}

quant::ConvSpec pointwise(int64_t in, int64_t out, bool input_signed) {
  return {.in = in, .out = out, .kernel = 1, .input_signed = input_signed};
}

}  // namespace

InvertedResidualImpl::InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expansion,
                                           const quant::LayerFactory& layers)
    : layers_(layers), residual_(stride == 1 && in == out) {
  const bool s = layers.activations_signed();
  const int64_t hidden = in * expansion;
  if (expansion != 1) {
    // The block input is the previous block's linear bottleneck: it can be negative whatever the activation.
    expand_ = register_module("expand", layers.conv(pointwise(in, hidden, true)));
    expand_bn_ = register_module("expand_bn", torch::nn::BatchNorm2d(hidden));
  }
  depthwise_ = register_module("depthwise", layers.conv({.in = hidden,
                                                         .out = hidden,
                                                         .kernel = 3,
                                                         .stride = stride,
                                                         .padding = 1,
                                                         .groups = hidden,
                                                         .input_signed = s}));
  depthwise_bn_ = register_module("depthwise_bn", torch::nn::BatchNorm2d(hidden));
  project_ = register_module("project", layers.conv(pointwise(hidden, out, s)));
  project_bn_ = register_module("project_bn", torch::nn::BatchNorm2d(out));
}

torch::Tensor InvertedResidualImpl::forward(const torch::Tensor& x) {
  auto h = expand_ ? relu6(layers_, expand_bn_(expand_(x))) : x;
  h = relu6(layers_, depthwise_bn_(depthwise_(h)));
  // Linear bottleneck: a nonlinearity in the narrow projection would destroy information (paper §3.2).
  h = project_bn_(project_(h));
  return residual_ ? x + h : h;
}

int InvertedResidualImpl::to_deploy(nn::DeployBuilder& b, const std::string& prefix, int x) const {
  const deploy::Activation act = nn::factory_activation(layers_, /*clip6=*/true);
  int h = expand_ ? b.conv(prefix + ".expand", *expand_, expand_bn_.get(), act, x) : x;
  h = b.conv(prefix + ".depthwise", *depthwise_, depthwise_bn_.get(), act, h);
  h = b.conv(prefix + ".project", *project_, project_bn_.get(), deploy::Activation::None, h);
  return residual_ ? b.add(prefix + ".add", {x, h}, deploy::Activation::None) : h;
}

MobileNetV2::MobileNetV2(const InputShape& s, const quant::LayerFactory& layers) : layers_(layers) {
  normalize_ = register_module("normalize", Normalize(s.mean, s.std));
  stem_ = register_module("stem", layers.conv({.in = s.channels,
                                               .out = 32,
                                               .kernel = 3,
                                               .padding = 1,
                                               .role = quant::Role::First,
                                               .input_signed = true}));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(32));

  struct Stage {
    int64_t expansion, channels, repeats, stride;
  };
  // Table 2 of the paper, with the second stage's stride 2 -> 1 (and the stem's) to keep 32x32 inputs at 4x4.
  const Stage table[] = {{1, 16, 1, 1}, {6, 24, 2, 1},  {6, 32, 3, 2}, {6, 64, 4, 2},
                         {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  blocks_ = torch::nn::Sequential();
  int64_t in = 32;
  for (const auto& st : table) {
    // A stage (for the stage embeddings) ends where the resolution is about to drop.
    if (st.stride == 2 && !blocks_->is_empty()) stage_ends_.push_back(blocks_->size() - 1);
    for (int64_t i = 0; i < st.repeats; ++i) {
      blocks_->push_back(InvertedResidual(in, st.channels, i == 0 ? st.stride : 1, st.expansion, layers));
      in = st.channels;
    }
  }
  blocks_ = register_module("blocks", blocks_);

  // The last block's output is linear, hence signed.
  head_ = register_module("head", layers.conv(pointwise(in, 1280, true)));
  head_bn_ = register_module("head_bn", torch::nn::BatchNorm2d(1280));
  fc_ = register_module("fc", layers.linear({.in = 1280,
                                             .out = s.classes,
                                             .role = quant::Role::Last,
                                             .input_signed = layers.activations_signed()}));

  // The initialisation of the reference implementation (torchvision): He fan-out convs, small-normal
  // classifier.
  init_convolutions_he(*this);
  torch::NoGradGuard no_grad;
  fc_->weight.normal_(0.0, 0.01);
  fc_->bias.zero_();
}

torch::Tensor MobileNetV2::forward(const torch::Tensor& pixels) {
  auto x = relu6(layers_, stem_bn_(stem_(normalize_(pixels))));
  size_t index = 0, next_end = 0;
  for (auto& block : *blocks_) {
    x = block.forward(x);
    if (next_end < stage_ends_.size() && index == stage_ends_[next_end]) {
      stage_output(x);
      ++next_end;
    }
    ++index;
  }
  x = relu6(layers_, head_bn_(head_(x)));
  stage_output(x);
  return fc_(x.mean({2, 3}));
}

int MobileNetV2::to_deploy(nn::DeployBuilder& b) const {
  const deploy::Activation act = nn::factory_activation(layers_, /*clip6=*/true);
  int x = b.normalize("normalize", *normalize_, deploy::kInputValue);
  x = b.conv("stem", *stem_, stem_bn_.get(), act, x);
  for (std::size_t i = 0; i < blocks_->size(); ++i)
    x = blocks_->ptr(i)->as<InvertedResidualImpl>()->to_deploy(b, "blocks." + std::to_string(i), x);
  x = b.conv("head", *head_, head_bn_.get(), act, x);
  x = b.global_avg_pool("pool", x);
  return b.linear("fc", *fc_, deploy::Activation::None, x);
}

}  // namespace r2q::models
