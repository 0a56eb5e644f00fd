// Loss formulas.
#include "losses/functional.h"

#include <torch/torch.h>

namespace r2q::losses {
namespace {

namespace F = torch::nn::functional;

// Pairwise Euclidean distances with a zero diagonal and finite gradients everywhere.
torch::Tensor pairwise_distances(const torch::Tensor& x) {
  auto squared = x.pow(2).sum(1);
  auto d2 = (squared.unsqueeze(0) + squared.unsqueeze(1) - 2 * x.matmul(x.t())).clamp_min(1e-12);
  auto off_diagonal = 1 - torch::eye(x.size(0), x.options());
  return d2.sqrt() * off_diagonal;
}

torch::Tensor mean_normalised_distances(const torch::Tensor& x) {
  auto d = pairwise_distances(x);
  const double pairs = static_cast<double>(x.size(0)) * static_cast<double>(x.size(0) - 1);
  return d / (d.sum() / pairs).clamp_min(1e-12);
}

torch::Tensor angles(const torch::Tensor& x) {
  // e[j][i] = x_i - x_j, normalised; angles[j] = e[j] e[j]^T (cosines at vertex j).
  auto e = F::normalize(x.unsqueeze(0) - x.unsqueeze(1), F::NormalizeFuncOptions().p(2).dim(2).eps(1e-12));
  return torch::bmm(e, e.transpose(1, 2));
}

}  // namespace

torch::Tensor kd_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                      double temperature) {
  auto log_p = F::log_softmax(student_logits / temperature, F::LogSoftmaxFuncOptions(1));
  auto q = F::softmax(teacher_logits / temperature, F::SoftmaxFuncOptions(1));
  return temperature * temperature * F::kl_div(log_p, q, F::KLDivFuncOptions().reduction(torch::kBatchMean));
}

torch::Tensor rkd_distance(const torch::Tensor& student, const torch::Tensor& teacher) {
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    target = mean_normalised_distances(teacher.flatten(1));
  }
  return F::smooth_l1_loss(mean_normalised_distances(student.flatten(1)), target);
}

torch::Tensor rkd_angle(const torch::Tensor& student, const torch::Tensor& teacher) {
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    target = angles(teacher.flatten(1));
  }
  return F::smooth_l1_loss(angles(student.flatten(1)), target);
}

torch::Tensor spectral_norm(const torch::Tensor& w, torch::Tensor& u, int iterations) {
  torch::Tensor v;
  {
    torch::NoGradGuard no_grad;
    auto wd = w.detach();
    for (int i = 0; i < std::max(1, iterations); ++i) {
      v = F::normalize(wd.t().mv(u), F::NormalizeFuncOptions().dim(0).eps(1e-12));
      u.copy_(F::normalize(wd.mv(v), F::NormalizeFuncOptions().dim(0).eps(1e-12)));
    }
  }
  // u is updated in place by the next call (the critic's next forward pass), while this sigma's graph is
  // still alive: autograd must hold a copy of it, not the buffer itself.
  return u.clone().dot(w.mv(v));
}

torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& critic,
                               const torch::Tensor& real, const torch::Tensor& fake) {
  auto a = torch::rand({real.size(0), 1}, real.options());
  auto x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(true);
  auto out = critic(x_hat);
  auto grad = torch::autograd::grad({out.sum()}, {x_hat}, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                    /*create_graph=*/true)[0];
  return (grad.flatten(1).norm(2, 1) - 1).pow(2).mean();
}

torch::Tensor logit_stability(const torch::Tensor& perturbed_logits, const torch::Tensor& clean_logits) {
  return (perturbed_logits - clean_logits).pow(2).sum(1).mean();
}

}  // namespace r2q::losses
