// The critic of the adversarial term: an MLP on one stage's embedding (in -> hidden -> hidden -> 1,
// LeakyReLU 0.2), optionally spectrally normalised (every weight divided by its largest singular value,
// estimated by persistent power iteration), which makes it 1-Lipschitz.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <vector>

namespace r2q::losses {

class CriticImpl : public torch::nn::Module {
 public:
  CriticImpl(int64_t in, int64_t hidden, bool spectral_norm, int power_iterations);
  // One score per row of x (batch x in) -> (batch).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::vector<torch::nn::Linear> layers_;
  std::vector<torch::Tensor> u_;  // power-iteration vectors (buffers), one per layer, when spectral
  bool spectral_;
  int power_iterations_;
};
TORCH_MODULE(Critic);

}  // namespace r2q::losses
