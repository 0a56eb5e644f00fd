// The base of every model: takes [0, 1] pixels (normalisation is the first layer) and returns logits.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace r2q::models {

// What a model needs to know about its input.
struct InputShape {
  int channels = 1, height = 28, width = 28, classes = 10;
  std::vector<double> mean{0.5}, std{0.5};
};

class Network : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& pixels) = 0;
};

using NetworkPtr = std::shared_ptr<Network>;

// (x - mean) / std per channel, with the statistics stored as buffers (they travel with checkpoints).
class NormalizeImpl : public torch::nn::Module {
 public:
  NormalizeImpl(const std::vector<double>& mean, const std::vector<double>& std);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor mean_, inv_std_;
};
TORCH_MODULE(Normalize);

}  // namespace r2q::models
