// The training objective: the weighted sum of the loss terms that are on (weight > 0). Terms that are off are
// not built and cost nothing.
#pragma once

#include <torch/nn/module.h>
#include <torch/serialize/archive.h>

#include <string>
#include <utility>
#include <vector>

#include "losses/term.h"

namespace r2q::losses {

// The trainer's objective (core/train/objective.h): Value::total is the sum of weight * term, Value::parts
// each term's unweighted value.
class Objective : public train::Objective {
 public:
  // `stage_widths`: the widths of the model's stage embeddings, needed when adversarial is on.
  Objective(const LossConfig& config, nn::Network& student, std::vector<int64_t> stage_widths = {});

  bool needs_teacher() const override { return needs_teacher_; }
  bool needs_stages() const override { return needs_stages_; }
  // Names of the terms that are on, in summation order.
  std::vector<std::string> active() const override;
  Value compute(const Step& step) override;

  // Terms' modules (critics, power-iteration vectors) and their optimizers.
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  struct Active {
    std::string name;
    double weight;
    LossTermPtr term;
  };
  std::vector<Active> terms_;
  bool needs_teacher_ = false, needs_stages_ = false;
};

}  // namespace r2q::losses
