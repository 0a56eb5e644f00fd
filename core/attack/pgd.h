// PGD (Madry et al. 2018), L-infinity: from a uniform random start in the eps-ball, `steps` signed-gradient
// steps of `step_size`, each projected back onto the eps-ball around x and onto [0, 1]. The gradient flows
// through whatever the model does (for quantized models: the straight-through estimator).
#pragma once

#include <torch/types.h>

#include "core/nn/network.h"

namespace r2q::attack {

struct PgdOptions {
  double eps = 0.03;
  int steps = 10;
  double step_size = 0;  // 0 = eps / 4
};

// The adversarial examples. The random start draws from torch's global generator.
torch::Tensor pgd(nn::Network& model, const torch::Tensor& x, const torch::Tensor& y,
                  const PgdOptions& options);

}  // namespace r2q::attack
