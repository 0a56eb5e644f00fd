// LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling: the tiny model of tests and smoke runs.
#pragma once

#include "core/quant/layers.h"
#include "models/model.h"

namespace r2q::models {

class LeNet : public Network {
 public:
  LeNet(const InputShape& shape, const quant::LayerFactory& layers);
  torch::Tensor forward(const torch::Tensor& pixels) override;
  int to_deploy(nn::DeployBuilder& builder) const override;

 private:
  quant::LayerFactory layers_;
  Normalize normalize_{nullptr};
  quant::QConv2d conv1_{nullptr}, conv2_{nullptr};
  quant::QLinear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

}  // namespace r2q::models
