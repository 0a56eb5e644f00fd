// Clean and FGSM evaluation.
#include "core/train/evaluate.h"

#include <torch/torch.h>

#include "core/attack/fgsm.h"
#include "core/data/loader.h"
#include "core/train/trainer.h"

namespace r2q::train {
namespace {

// Restores train/eval mode on scope exit.
class EvalMode {
 public:
  explicit EvalMode(models::Network& m) : m_(m), was_training_(m.is_training()) { m_.eval(); }
  ~EvalMode() { m_.train(was_training_); }

 private:
  models::Network& m_;
  bool was_training_;
};

int64_t correct(const torch::Tensor& logits, const torch::Tensor& labels) {
  return logits.argmax(1).eq(labels).sum().item<int64_t>();
}

}  // namespace

double accuracy(models::Network& model, const data::Dataset& data, int64_t batch_size) {
  if (data.size() == 0) return 0;
  EvalMode mode(model);
  torch::NoGradGuard no_grad;
  data::BatchLoader loader(data, {.batch_size = batch_size});
  int64_t hits = 0;
  for (int64_t b = 0; b < loader.size(); ++b) {
    auto batch = loader[b];
    hits += correct(model.forward(as_model_input(batch.images)), batch.labels);
  }
  return static_cast<double>(hits) / static_cast<double>(data.size());
}

RobustnessResult evaluate_robustness(models::Network& model, const data::Dataset& data,
                                     const std::vector<double>& eps, int64_t batch_size,
                                     const std::function<void(int64_t, int64_t)>& progress) {
  RobustnessResult result;
  if (data.size() == 0) return result;
  EvalMode mode(model);
  bool any_attack = false;
  for (double e : eps) any_attack = any_attack || e > 0;
  data::BatchLoader loader(data, {.batch_size = batch_size});
  int64_t clean_hits = 0;
  std::map<double, int64_t> hits;
  for (int64_t b = 0; b < loader.size(); ++b) {
    auto batch = loader[b];
    batch.images = as_model_input(batch.images);
    torch::Tensor logits, sign;
    if (any_attack) {
      auto g = attack::input_gradient_sign(model, batch.images, batch.labels);
      logits = g.logits;
      sign = g.sign;
    } else {
      torch::NoGradGuard no_grad;
      logits = model.forward(batch.images);
    }
    int64_t c = correct(logits, batch.labels);
    clean_hits += c;
    torch::NoGradGuard no_grad;
    for (double e : eps)
      hits[e] += e > 0 ? correct(model.forward(attack::fgsm_step(batch.images, sign, e)), batch.labels) : c;
    if (progress) progress(b + 1, loader.size());
  }
  double n = static_cast<double>(data.size());
  result.clean = static_cast<double>(clean_hits) / n;
  for (const auto& [e, h] : hits) result.fgsm[e] = static_cast<double>(h) / n;
  return result;
}

}  // namespace r2q::train
