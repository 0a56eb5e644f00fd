// ResNet-18, the ImageNet variant of He et al. (CVPR 2016, Table 1) with projection shortcuts ("option B").
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>

#include "core/quant/layers.h"
#include "models/model.h"

namespace r2q::models {

// Two 3x3 convolutions; the shortcut is a strided 1x1 convolution + BatchNorm when the shape changes.
class ProjectionBlockImpl : public torch::nn::Module {
 public:
  ProjectionBlockImpl(int64_t in_planes, int64_t planes, int64_t stride, const quant::LayerFactory& layers);
  torch::Tensor forward(const torch::Tensor& x);
  // Network::to_deploy for this block: its layers named `prefix`.conv1 etc., on value `x`.
  int to_deploy(nn::DeployBuilder& builder, const std::string& prefix, int x) const;

 private:
  quant::LayerFactory layers_;
  quant::QConv2d conv1_{nullptr}, conv2_{nullptr},
      downsample_{nullptr};  // downsample_ null: identity shortcut
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, downsample_bn_{nullptr};
};
TORCH_MODULE(ProjectionBlock);

class ResNet18 : public Network {
 public:
  ResNet18(const InputShape& shape, const quant::LayerFactory& layers);
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
