// LeNet-5.
#include "models/lenet.h"

#include <torch/torch.h>

#include "core/util/error.h"

namespace r2q::models {

LeNet::LeNet(const InputShape& s) {
  // conv 5x5 pad 2 -> pool 2 -> conv 5x5 -> pool 2: 28 -> 14 -> 10 -> 5.
  int64_t h = (s.height / 2 - 4) / 2, w = (s.width / 2 - 4) / 2;
  if (h < 1 || w < 1)
    throw InputError("model lenet: input " + std::to_string(s.height) + "x" + std::to_string(s.width) +
                     " is too small (needs at least 12x12)");
  normalize_ = register_module("normalize", Normalize(s.mean, s.std));
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(s.channels, 6, 5).padding(2)));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 16, 5)));
  fc1_ = register_module("fc1", torch::nn::Linear(16 * h * w, 120));
  fc2_ = register_module("fc2", torch::nn::Linear(120, 84));
  fc3_ = register_module("fc3", torch::nn::Linear(84, s.classes));
}

torch::Tensor LeNet::forward(const torch::Tensor& pixels) {
  auto x = normalize_(pixels);
  x = torch::max_pool2d(torch::relu(conv1_(x)), 2);
  x = torch::max_pool2d(torch::relu(conv2_(x)), 2);
  x = x.flatten(1);
  x = torch::relu(fc1_(x));
  x = torch::relu(fc2_(x));
  return fc3_(x);
}

}  // namespace r2q::models
