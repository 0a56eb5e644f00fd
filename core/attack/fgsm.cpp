// FGSM.
#include "core/attack/fgsm.h"

#include <torch/torch.h>

namespace r2q::attack {

InputGradient input_gradient_sign(nn::Network& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::AutoGradMode enable(true);
  torch::Tensor input = x.detach().requires_grad_(true);
  torch::Tensor logits = model.forward(input);
  // Sum, not mean: the sign is the same, and per-sample gradients do not shrink with the batch size.
  torch::Tensor loss = torch::nn::functional::cross_entropy(
      logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  torch::Tensor grad = torch::autograd::grad({loss}, {input})[0];
  return {logits.detach(), grad.sign()};
}

torch::Tensor fgsm_step(const torch::Tensor& x, const torch::Tensor& sign, double eps) {
  return (x + eps * sign).clamp_(0.0, 1.0);
}

torch::Tensor fgsm(nn::Network& model, const torch::Tensor& x, const torch::Tensor& y, double eps) {
  return fgsm_step(x, input_gradient_sign(model, x, y).sign, eps);
}

}  // namespace r2q::attack
