// Evaluation on a held-out set: clean accuracy and accuracy under FGSM at several epsilons.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "core/data/dataset.h"
#include "core/nn/network.h"

namespace r2q::train {

// Clean accuracy (eval mode, no gradients).
double accuracy(nn::Network& model, const data::Dataset& data, int64_t batch_size = 500);

struct RobustnessResult {
  double clean = 0;
  std::map<double, double> fgsm;           // eps -> accuracy under FGSM through the model itself
  std::map<double, double> pgd;            // eps -> accuracy under PGD
  std::map<double, double> transfer_fgsm;  // eps -> accuracy on FGSM examples made on the transfer source
};

// What to evaluate besides clean accuracy.
struct EvalPlan {
  std::vector<double> fgsm_eps;  // eps = 0 is the clean accuracy
  std::vector<double> pgd_eps;
  int pgd_steps = 10;
  double pgd_step_size = 0;                // 0 = eps / 4
  nn::Network* transfer_source = nullptr;  // e.g. the FP32 teacher; FGSM at every fgsm eps > 0
  int64_t batch_size = 500;
};

// Every attack of the plan on every test batch (the model in eval mode). PGD's random starts draw from
// torch's global generator: seed it first for reproducible numbers.
RobustnessResult evaluate(nn::Network& model, const data::Dataset& data, const EvalPlan& plan,
                          const std::function<void(int64_t, int64_t)>& progress = {});

// Clean accuracy and FGSM accuracy at every eps from one gradient per batch (the FGSM direction does not
// depend on eps). eps = 0 is the clean accuracy. `progress(done, total)` is called after each batch.
RobustnessResult evaluate_robustness(nn::Network& model, const data::Dataset& data,
                                     const std::vector<double>& eps, int64_t batch_size = 500,
                                     const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace r2q::train
