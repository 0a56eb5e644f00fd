// LeNet-5 (LeCun et al. 1998) with ReLU and max-pooling: the tiny model of tests and smoke runs.
#pragma once

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "models/network.h"

namespace r2q::models {

class LeNet : public Network {
 public:
  explicit LeNet(const InputShape& shape);
  torch::Tensor forward(const torch::Tensor& pixels) override;

 private:
  Normalize normalize_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

}  // namespace r2q::models
