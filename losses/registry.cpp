// The loss-term registry.
#include "losses/terms.h"

namespace r2q::losses {

void register_builtins(Registry<LossTermEntry>& r) {
  r.add("ce", {"cross-entropy on the labels", [](const LossConfig& c) { return c.ce; }, make_ce});
  r.add("kd", {"Hinton distillation from the FP32 teacher at temperature kd_temperature",
               [](const LossConfig& c) { return c.kd; }, make_kd});
  r.add("structural",
        {"RKD distance (+ structural_angle x RKD angle) between teacher and student stage embeddings",
         [](const LossConfig& c) { return c.structural; }, make_structural});
  r.add("adversarial", {"Wasserstein GAN: one critic per stage tells teacher from student embeddings",
                        [](const LossConfig& c) { return c.adversarial; }, make_adversarial});
  r.add("perturbation", {"E||f(x + delta) - f(x)||^2 on the logits, delta an FGSM step or uniform noise",
                         [](const LossConfig& c) { return c.perturbation; }, make_perturbation});
  r.add("spectral", {"sum of the squared spectral norms of the student's layers (power iteration)",
                     [](const LossConfig& c) { return c.spectral; }, make_spectral});
}

Registry<LossTermEntry>& loss_registry() {
  static Registry<LossTermEntry> registry = [] {
    Registry<LossTermEntry> r("loss term");
    register_builtins(r);
    return r;
  }();
  return registry;
}

const std::vector<std::string>& term_order() {
  static const std::vector<std::string> order = {"ce",          "kd",           "structural",
                                                 "adversarial", "perturbation", "spectral"};
  return order;
}

}  // namespace r2q::losses
