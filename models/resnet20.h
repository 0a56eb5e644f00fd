// ResNet-20, the CIFAR variant of He et al. (CVPR 2016, §4.2): a 3x3 stem of 16 channels, three stages of
// three basic blocks (16, 32, 64 channels; stride 2 at the start of stages 2 and 3), global average pooling
// and a linear classifier. Shortcuts are parameter-free ("option A": subsample, then zero-pad the new
// channels). Works for any input channels and size (28x28 Fashion-MNIST gives 28 -> 14 -> 7).
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "models/network.h"

namespace r2q::models {

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  int64_t stride_, pad_channels_;
};
TORCH_MODULE(BasicBlock);

class ResNet20 : public Network {
 public:
  explicit ResNet20(const InputShape& shape, int blocks_per_stage = 3);
  torch::Tensor forward(const torch::Tensor& pixels) override;

 private:
  Normalize normalize_{nullptr};
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::ModuleList stages_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace r2q::models
