// PGD.
#include "core/attack/pgd.h"

#include <torch/torch.h>

#include "core/attack/fgsm.h"

namespace r2q::attack {

torch::Tensor pgd(nn::Network& model, const torch::Tensor& x, const torch::Tensor& y, const PgdOptions& o) {
  const double step = o.step_size > 0 ? o.step_size : o.eps / 4;
  torch::NoGradGuard no_grad;
  auto lower = (x - o.eps).clamp_min(0.0), upper = (x + o.eps).clamp_max(1.0);
  torch::Tensor adv = (x + torch::empty_like(x).uniform_(-o.eps, o.eps)).clamp_(0.0, 1.0);
  for (int i = 0; i < o.steps; ++i) {
    auto sign = input_gradient_sign(model, adv, y).sign;
    adv = torch::min(torch::max(adv + step * sign, lower), upper);
  }
  return adv;
}

}  // namespace r2q::attack
