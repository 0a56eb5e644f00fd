// Cross-entropy and distillation.
#include <torch/torch.h>

#include "losses/functional.h"
#include "losses/terms.h"

namespace r2q::losses {
namespace {

class CrossEntropy : public LossTerm {
 public:
  torch::Tensor compute(const Step& s) override {
    return torch::nn::functional::cross_entropy(s.student_out.logits, s.labels);
  }
};

class Distillation : public LossTerm {
 public:
  explicit Distillation(double temperature) : temperature_(temperature) {}
  bool needs_teacher() const override { return true; }
  torch::Tensor compute(const Step& s) override {
    return kd_loss(s.student_out.logits, s.teacher_out->logits, temperature_);
  }

 private:
  double temperature_;
};

}  // namespace

LossTermPtr make_ce(const TermSetup&) {
  return std::make_shared<CrossEntropy>();
}

LossTermPtr make_kd(const TermSetup& setup) {
  return std::make_shared<Distillation>(setup.config.kd_temperature);
}

}  // namespace r2q::losses
