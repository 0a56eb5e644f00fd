// FGSM (Goodfellow et al. 2015) in pixel space: x' = clamp(x + eps * sign(grad_x CE(f(x), y)), 0, 1).
// The gradient flows through whatever the model does (for quantized models: the straight-through estimator).
#pragma once

#include <torch/types.h>

#include "core/nn/network.h"

namespace r2q::attack {

struct InputGradient {
  torch::Tensor logits;  // f(x), detached
  torch::Tensor sign;    // sign(grad_x CE(f(x), y))
};

// One forward and one backward pass; parameters' gradients are neither computed nor touched.
InputGradient input_gradient_sign(nn::Network& model, const torch::Tensor& x, const torch::Tensor& y);

// Applies an FGSM step of size eps given the gradient sign.
torch::Tensor fgsm_step(const torch::Tensor& x, const torch::Tensor& sign, double eps);

// x' for one eps.
torch::Tensor fgsm(nn::Network& model, const torch::Tensor& x, const torch::Tensor& y, double eps);

}  // namespace r2q::attack
