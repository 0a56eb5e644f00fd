// Input normalisation.
#include "models/network.h"

#include <torch/torch.h>

namespace r2q::models {

NormalizeImpl::NormalizeImpl(const std::vector<double>& mean, const std::vector<double>& std) {
  auto c = static_cast<int64_t>(mean.size());
  mean_ = register_buffer("mean", torch::tensor(mean, torch::kFloat32).view({1, c, 1, 1}));
  inv_std_ = register_buffer("inv_std", 1.0 / torch::tensor(std, torch::kFloat32).view({1, c, 1, 1}));
}

torch::Tensor NormalizeImpl::forward(const torch::Tensor& x) {
  return (x - mean_) * inv_std_;
}

}  // namespace r2q::models
