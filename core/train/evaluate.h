// Evaluation on a held-out set: clean accuracy and accuracy under FGSM at several epsilons.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "core/data/dataset.h"
#include "models/network.h"

namespace r2q::train {

// Clean accuracy (eval mode, no gradients).
double accuracy(models::Network& model, const data::Dataset& data, int64_t batch_size = 500);

struct RobustnessResult {
  double clean = 0;
  std::map<double, double> fgsm;  // eps -> accuracy
};

// Clean accuracy and FGSM accuracy at every eps from one gradient per batch (the FGSM direction does not
// depend on eps). eps = 0 is the clean accuracy. `progress(done, total)` is called after each batch.
RobustnessResult evaluate_robustness(models::Network& model, const data::Dataset& data,
                                     const std::vector<double>& eps, int64_t batch_size = 500,
                                     const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace r2q::train
