// SqueezeNet 1.1 (Iandola et al. 2016) for CIFAR-sized inputs.
#include "models/squeezenet.h"

#include <torch/torch.h>

#include "core/nn/to_deploy.h"

namespace r2q::models {

FireImpl::FireImpl(int64_t in, int64_t squeeze, int64_t expand, const quant::LayerFactory& layers)
    : layers_(layers) {
  // Every fire input follows an activation (possibly through a max-pool, which keeps its sign).
  const bool s = layers.activations_signed();
  squeeze_ =
      register_module("squeeze", layers.conv({.in = in, .out = squeeze, .kernel = 1, .input_signed = s}));
  squeeze_bn_ = register_module("squeeze_bn", torch::nn::BatchNorm2d(squeeze));
  expand1x1_ = register_module("expand1x1",
                               layers.conv({.in = squeeze, .out = expand, .kernel = 1, .input_signed = s}));
  expand1x1_bn_ = register_module("expand1x1_bn", torch::nn::BatchNorm2d(expand));
  expand3x3_ = register_module(
      "expand3x3", layers.conv({.in = squeeze, .out = expand, .kernel = 3, .padding = 1, .input_signed = s}));
  expand3x3_bn_ = register_module("expand3x3_bn", torch::nn::BatchNorm2d(expand));
}

torch::Tensor FireImpl::forward(const torch::Tensor& x) {
  auto s = layers_.activation(squeeze_bn_(squeeze_(x)));
  return torch::cat(
      {layers_.activation(expand1x1_bn_(expand1x1_(s))), layers_.activation(expand3x3_bn_(expand3x3_(s)))},
      1);
}

int FireImpl::to_deploy(nn::DeployBuilder& b, const std::string& prefix, int x) const {
  const deploy::Activation act = nn::factory_activation(layers_);
  int s = b.conv(prefix + ".squeeze", *squeeze_, squeeze_bn_.get(), act, x);
  int e1 = b.conv(prefix + ".expand1x1", *expand1x1_, expand1x1_bn_.get(), act, s);
  int e3 = b.conv(prefix + ".expand3x3", *expand3x3_, expand3x3_bn_.get(), act, s);
  return b.concat(prefix + ".concat", {e1, e3});
}

SqueezeNet::SqueezeNet(const InputShape& s, const quant::LayerFactory& layers) : layers_(layers) {
  normalize_ = register_module("normalize", Normalize(s.mean, s.std));
  // ImageNet's stride-2 stem and first max-pool would leave a 32x32 image at 8x8 before the first fire module
  // and 2x2 at the end; without them the fire groups run at 32, 16 and 8 (ImageNet: 55, 27 and 13).
  stem_ = register_module("stem", layers.conv({.in = s.channels,
                                               .out = 64,
                                               .kernel = 3,
                                               .padding = 1,
                                               .role = quant::Role::First,
                                               .input_signed = true}));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(64));

  // The SqueezeNet 1.1 schedule (squeeze, expand) per fire module, grouped by the max-pools between them.
  const std::vector<std::vector<std::pair<int64_t, int64_t>>> schedule = {
      {{16, 64}, {16, 64}}, {{32, 128}, {32, 128}}, {{48, 192}, {48, 192}, {64, 256}, {64, 256}}};
  int64_t in = 64;
  for (const auto& group : schedule) {
    torch::nn::Sequential fires;
    for (auto [squeeze, expand] : group) {
      fires->push_back(Fire(in, squeeze, expand, layers));
      in = 2 * expand;
    }
    groups_.push_back(register_module("fire_group" + std::to_string(groups_.size() + 1), fires));
  }
  // The classifier is a 1x1 convolution (with bias: no BatchNorm follows it) whose maps are averaged.
  classifier_ = register_module("classifier", layers.conv({.in = in,
                                                           .out = s.classes,
                                                           .kernel = 1,
                                                           .bias = true,
                                                           .role = quant::Role::Last,
                                                           .input_signed = layers.activations_signed()}));

  // As the reference implementation (torchvision), with He fan-out convs as the other models here: the
  // classifier starts small so that early logits are near uniform.
  init_convolutions_he(*this);
  torch::NoGradGuard no_grad;
  classifier_->weight.normal_(0.0, 0.01);
  classifier_->bias.zero_();
}

torch::Tensor SqueezeNet::forward(const torch::Tensor& pixels) {
  auto x = layers_.activation(stem_bn_(stem_(normalize_(pixels))));
  for (size_t g = 0; g < groups_.size(); ++g) {
    // Overlapping 3x3 stride-2 pooling as in the paper; ceil mode keeps the borders (32 -> 16 -> 8).
    if (g > 0) x = torch::max_pool2d(x, 3, 2, 0, 1, /*ceil_mode=*/true);
    x = groups_[g]->forward(x);
    stage_output(x);
  }
  // No ReLU on the logits (torchvision has one): a softmax classifier needs negative logits.
  return classifier_(x).mean({2, 3});
}

int SqueezeNet::to_deploy(nn::DeployBuilder& b) const {
  int x = b.normalize("normalize", *normalize_, deploy::kInputValue);
  x = b.conv("stem", *stem_, stem_bn_.get(), nn::factory_activation(layers_), x);
  const deploy::Pool pool{.kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .ceil_mode = true};
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string group = "fire_group" + std::to_string(g + 1);
    if (g > 0) x = b.max_pool(group + ".pool", pool, x);
    for (std::size_t i = 0; i < groups_[g]->size(); ++i)
      x = groups_[g]->ptr(i)->as<FireImpl>()->to_deploy(b, group + "." + std::to_string(i), x);
  }
  x = b.conv("classifier", *classifier_, nullptr, deploy::Activation::None, x);
  return b.global_avg_pool("pool", x);
}

}  // namespace r2q::models
