// ResNet-20, the CIFAR variant of He et al. (CVPR 2016, §4.2): a 3x3 stem of 16 channels, three stages of
// three basic blocks (16, 32, 64 channels; stride 2 at the start of stages 2 and 3), global average pooling
// and a linear classifier. Shortcuts are parameter-free ("option A": subsample, then zero-pad the new
// channels). Works for any input channels and size (28x28 Fashion-MNIST gives 28 -> 14 -> 7).
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>

#include "core/quant/layers.h"
#include "models/model.h"

namespace r2q::models {

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride, const quant::LayerFactory& layers);
  torch::Tensor forward(const torch::Tensor& x);
  // Network::to_deploy for this block: its layers named `prefix`.conv1 etc., on value `x`.
  int to_deploy(nn::DeployBuilder& builder, const std::string& prefix, int x) const;

 private:
  quant::LayerFactory layers_;
  quant::QConv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  int64_t stride_, pad_channels_;
};
TORCH_MODULE(BasicBlock);

class ResNet20 : public Network {
 public:
  ResNet20(const InputShape& shape, const quant::LayerFactory& layers, int blocks_per_stage = 3);
  torch::Tensor forward(const torch::Tensor& pixels) override;
  int to_deploy(nn::DeployBuilder& builder) const override;

 private:
  quant::LayerFactory layers_;
  Normalize normalize_{nullptr};
  quant::QConv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<torch::nn::Sequential> stages_;
  quant::QLinear fc_{nullptr};
};

}  // namespace r2q::models
