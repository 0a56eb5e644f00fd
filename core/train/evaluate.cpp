// Clean and FGSM evaluation.
#include "core/train/evaluate.h"

#include <torch/torch.h>

#include <optional>

#include "core/attack/fgsm.h"
#include "core/attack/pgd.h"
#include "core/data/loader.h"
#include "core/train/trainer.h"

namespace r2q::train {
namespace {

// Restores train/eval mode on scope exit.
class EvalMode {
 public:
  explicit EvalMode(nn::Network& m) : m_(m), was_training_(m.is_training()) { m_.eval(); }
  ~EvalMode() { m_.train(was_training_); }

 private:
  nn::Network& m_;
  bool was_training_;
};

int64_t correct(const torch::Tensor& logits, const torch::Tensor& labels) {
  return logits.argmax(1).eq(labels).sum().item<int64_t>();
}

torch::Tensor forward_no_grad(nn::Network& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return model.forward(x);
}

}  // namespace

double accuracy(nn::Network& model, const data::Dataset& data, int64_t batch_size) {
  if (data.size() == 0) return 0;
  EvalMode mode(model);
  torch::NoGradGuard no_grad;
  data::BatchLoader loader(data, {.batch_size = batch_size});
  int64_t hits = 0;
  const torch::Device device = nn::device_of(model);
  for (int64_t b = 0; b < loader.size(); ++b) {
    auto batch = data::on_device(loader[b], device);
    hits += correct(model.forward(as_model_input(batch.images)), batch.labels);
  }
  return static_cast<double>(hits) / static_cast<double>(data.size());
}

RobustnessResult evaluate(nn::Network& model, const data::Dataset& data, const EvalPlan& plan,
                          const std::function<void(int64_t, int64_t)>& progress) {
  RobustnessResult result;
  if (data.size() == 0) return result;
  EvalMode mode(model);
  std::optional<EvalMode> source_mode;
  if (plan.transfer_source) source_mode.emplace(*plan.transfer_source);
  bool any_fgsm = false;
  for (double e : plan.fgsm_eps) any_fgsm = any_fgsm || e > 0;
  data::BatchLoader loader(data, {.batch_size = plan.batch_size});
  int64_t clean_hits = 0;
  std::map<double, int64_t> fgsm_hits, pgd_hits, transfer_hits;
  const torch::Device device = nn::device_of(model);
  for (int64_t b = 0; b < loader.size(); ++b) {
    auto batch = data::on_device(loader[b], device);
    const auto& x = batch.images = as_model_input(batch.images);
    const auto& y = batch.labels;
    torch::Tensor logits, sign;
    if (any_fgsm) {
      auto g = attack::input_gradient_sign(model, x, y);
      logits = g.logits;
      sign = g.sign;
    } else {
      torch::NoGradGuard no_grad;
      logits = model.forward(x);
    }
    const int64_t c = correct(logits, y);
    clean_hits += c;
    torch::Tensor transfer_sign;
    if (plan.transfer_source && any_fgsm)
      transfer_sign = attack::input_gradient_sign(*plan.transfer_source, x, y).sign;
    for (double e : plan.pgd_eps)
      pgd_hits[e] += correct(
          forward_no_grad(model, attack::pgd(model, x, y, {e, plan.pgd_steps, plan.pgd_step_size})), y);
    for (double e : plan.fgsm_eps) {
      fgsm_hits[e] += e > 0 ? correct(forward_no_grad(model, attack::fgsm_step(x, sign, e)), y) : c;
      if (transfer_sign.defined() && e > 0)
        transfer_hits[e] += correct(forward_no_grad(model, attack::fgsm_step(x, transfer_sign, e)), y);
    }
    if (progress) progress(b + 1, loader.size());
  }
  const double n = static_cast<double>(data.size());
  result.clean = static_cast<double>(clean_hits) / n;
  for (const auto& [e, h] : fgsm_hits) result.fgsm[e] = static_cast<double>(h) / n;
  for (const auto& [e, h] : pgd_hits) result.pgd[e] = static_cast<double>(h) / n;
  for (const auto& [e, h] : transfer_hits) result.transfer_fgsm[e] = static_cast<double>(h) / n;
  return result;
}

RobustnessResult evaluate_robustness(nn::Network& model, const data::Dataset& data,
                                     const std::vector<double>& eps, int64_t batch_size,
                                     const std::function<void(int64_t, int64_t)>& progress) {
  EvalPlan plan;
  plan.fgsm_eps = eps;
  plan.batch_size = batch_size;
  return evaluate(model, data, plan, progress);
}

}  // namespace r2q::train
