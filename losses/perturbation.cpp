// The perturbation term ("non-sensitive perturbation"): the logits should not move when the input moves by
// an FGSM step of train_eps (the worst first-order direction, through the STE) or by uniform noise.
#include <torch/torch.h>

#include "core/attack/fgsm.h"
#include "losses/functional.h"
#include "losses/terms.h"

namespace r2q::losses {
namespace {

class Perturbation : public LossTerm {
 public:
  Perturbation(double eps, bool fgsm) : eps_(eps), fgsm_(fgsm) {}

  torch::Tensor compute(const Step& s) override {
    torch::Tensor perturbed;
    if (fgsm_) {
      // The direction comes from an extra forward/backward pass in the current (training) mode.
      auto sign = attack::input_gradient_sign(s.student, s.images, s.labels).sign;
      perturbed = attack::fgsm_step(s.images, sign, eps_);
    } else {
      perturbed = (s.images + torch::empty_like(s.images).uniform_(-eps_, eps_)).clamp_(0.0, 1.0);
    }
    return logit_stability(s.student.forward(perturbed), s.student_out.logits);
  }

 private:
  double eps_;
  bool fgsm_;
};

}  // namespace

LossTermPtr make_perturbation(const TermSetup& setup) {
  return std::make_shared<Perturbation>(setup.config.train_eps, setup.config.perturbation_delta == "fgsm");
}

}  // namespace r2q::losses
