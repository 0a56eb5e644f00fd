// What the trainer minimises: an objective over one training step. losses/ implements it (losses::Objective,
// the weighted sum of the loss terms); the trainer's own, when none is given, is plain cross-entropy.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/nn/network.h"

namespace r2q::train {

// What one training step gives the objective. The student's output has stage embeddings when the objective
// asked for them; the teacher's output is there when it needs the teacher (computed without gradients).
struct Step {
  nn::Network& student;
  const torch::Tensor& images;
  const torch::Tensor& labels;
  const nn::StagedOutput& student_out;
  const nn::StagedOutput* teacher_out = nullptr;
};

// A module, so that state it keeps across steps (critics, power-iteration vectors) is checkpointed.
class Objective : public torch::nn::Module {
 public:
  virtual bool needs_teacher() const = 0;
  virtual bool needs_stages() const = 0;
  // Names of the parts of its value, in the order of Value::parts.
  virtual std::vector<std::string> active() const = 0;

  struct Value {
    torch::Tensor total;  // what the step minimises
    std::vector<std::pair<std::string, torch::Tensor>>
        parts;  // each part's unweighted value (detached scalars)
  };
  virtual Value compute(const Step& step) = 0;
};

// `weight` times the cross-entropy of the student's logits; its one part is "ce".
std::shared_ptr<Objective> cross_entropy_objective(double weight);

}  // namespace r2q::train
