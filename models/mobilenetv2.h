// MobileNetV2 (Sandler et al., CVPR 2018), CIFAR variant: stride-1 stem and second stage, so 32x32 ends at
// 4x4.
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>

#include "core/quant/layers.h"
#include "models/model.h"

namespace r2q::models {

// Expansion 1x1 -> depthwise 3x3 -> linear projection 1x1, with an identity shortcut when shapes allow.
class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expansion,
                       const quant::LayerFactory& layers);
  torch::Tensor forward(const torch::Tensor& x);
  // Network::to_deploy for this block: its layers named `prefix`.expand etc., on value `x`.
  int to_deploy(nn::DeployBuilder& builder, const std::string& prefix, int x) const;

 private:
  quant::LayerFactory layers_;
  quant::QConv2d expand_{nullptr}, depthwise_{nullptr}, project_{nullptr};  // expand_ is null when t = 1
  torch::nn::BatchNorm2d expand_bn_{nullptr}, depthwise_bn_{nullptr}, project_bn_{nullptr};
  bool residual_;
};
TORCH_MODULE(InvertedResidual);

class MobileNetV2 : public Network {
 public:
  MobileNetV2(const InputShape& shape, const quant::LayerFactory& layers);
  torch::Tensor forward(const torch::Tensor& pixels) override;
  int to_deploy(nn::DeployBuilder& builder) const override;

 private:
  quant::LayerFactory layers_;
  Normalize normalize_{nullptr};
  quant::QConv2d stem_{nullptr}, head_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr}, head_bn_{nullptr};
  torch::nn::Sequential blocks_{nullptr};
  std::vector<size_t> stage_ends_;  // indices of the blocks that end a resolution stage
  quant::QLinear fc_{nullptr};
};

}  // namespace r2q::models
