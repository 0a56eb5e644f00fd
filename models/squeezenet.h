// SqueezeNet 1.1 (Iandola et al. 2016), CIFAR variant: 3x3 stride-1 stem and no stem pooling (32x32 ends at
// 8x8).
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>

#include "core/quant/layers.h"
#include "models/model.h"

namespace r2q::models {

// Squeeze 1x1, then expand 1x1 and expand 3x3 side by side, concatenated along channels.
class FireImpl : public torch::nn::Module {
 public:
  FireImpl(int64_t in, int64_t squeeze, int64_t expand, const quant::LayerFactory& layers);
  torch::Tensor forward(const torch::Tensor& x);
  // Network::to_deploy for this module: its layers named `prefix`.squeeze etc., on value `x`.
  int to_deploy(nn::DeployBuilder& builder, const std::string& prefix, int x) const;

 private:
  quant::LayerFactory layers_;
  quant::QConv2d squeeze_{nullptr}, expand1x1_{nullptr}, expand3x3_{nullptr};
  torch::nn::BatchNorm2d squeeze_bn_{nullptr}, expand1x1_bn_{nullptr}, expand3x3_bn_{nullptr};
};
TORCH_MODULE(Fire);

class SqueezeNet : public Network {
 public:
  SqueezeNet(const InputShape& shape, const quant::LayerFactory& layers);
  torch::Tensor forward(const torch::Tensor& pixels) override;
  int to_deploy(nn::DeployBuilder& builder) const override;

 private:
  quant::LayerFactory layers_;
  Normalize normalize_{nullptr};
  quant::QConv2d stem_{nullptr}, classifier_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<torch::nn::Sequential> groups_;  // fire modules between max-pools
};

}  // namespace r2q::models
