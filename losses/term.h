// A loss term: one summand of the training objective. Terms are modules, so state they keep across steps
// (critics, power-iteration vectors) is saved with the run's checkpoints.
#pragma once

#include <torch/nn/module.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/nn/network.h"
#include "core/train/objective.h"
#include "core/util/registry.h"
#include "losses/config.h"

namespace r2q::losses {

// What one training step gives the terms (the trainer's Step): the student's output has stage embeddings when
// some term asked for them; the teacher's output is there when some term needs the teacher.
using train::Step;

class LossTerm : public torch::nn::Module {
 public:
  // The term's unweighted value; its gradient reaches the student's parameters.
  virtual torch::Tensor compute(const Step& step) = 0;
  virtual bool needs_teacher() const { return false; }
  virtual bool needs_stages() const { return false; }
  // Optimizer state the term owns (the critics' Adam), for checkpoints, under keys of its own.
  virtual void save_optimizers(torch::serialize::OutputArchive& /*archive*/) const {}
  virtual void load_optimizers(torch::serialize::InputArchive& /*archive*/) {}
};

using LossTermPtr = std::shared_ptr<LossTerm>;

// What building a term may use: the settings, the student, and the widths of the stage embeddings.
struct TermSetup {
  const LossConfig& config;
  nn::Network& student;
  std::vector<int64_t> stage_widths;
};

struct LossTermEntry {
  std::string description;
  std::function<double(const LossConfig&)> weight;  // 0 = the term is off and is not built
  std::function<LossTermPtr(const TermSetup&)> build;
};

// Terms by name, in the order they are summed: ce, kd, structural, adversarial, perturbation, spectral.
Registry<LossTermEntry>& loss_registry();
void register_builtins(Registry<LossTermEntry>& registry);
// The registry's names in summation order.
const std::vector<std::string>& term_order();

}  // namespace r2q::losses
