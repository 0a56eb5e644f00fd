// The critic.
#include "losses/critic.h"

#include <torch/torch.h>

#include "losses/functional.h"

namespace r2q::losses {

CriticImpl::CriticImpl(int64_t in, int64_t hidden, bool spectral_norm, int power_iterations)
    : spectral_(spectral_norm), power_iterations_(power_iterations) {
  const int64_t widths[] = {in, hidden, hidden, 1};
  for (size_t i = 0; i + 1 < std::size(widths); ++i) {
    layers_.push_back(
        register_module("fc" + std::to_string(i + 1), torch::nn::Linear(widths[i], widths[i + 1])));
    if (spectral_)
      u_.push_back(register_buffer(
          "u" + std::to_string(i + 1),
          torch::nn::functional::normalize(torch::randn({widths[i + 1]}),
                                           torch::nn::functional::NormalizeFuncOptions().dim(0))));
  }
}

torch::Tensor CriticImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    torch::Tensor w = layers_[i]->weight;
    if (spectral_) w = w / spectral_norm(w, u_[i], power_iterations_);
    h = torch::nn::functional::linear(h, w, layers_[i]->bias);
    if (i + 1 < layers_.size()) h = torch::leaky_relu(h, 0.2);
  }
  return h.squeeze(1);
}

}  // namespace r2q::losses
