// The trainer's own objective.
#include "core/train/objective.h"

#include <torch/torch.h>

namespace r2q::train {
namespace {

class CrossEntropyObjective : public Objective {
 public:
  explicit CrossEntropyObjective(double weight) : weight_(weight) {}
  bool needs_teacher() const override { return false; }
  bool needs_stages() const override { return false; }
  std::vector<std::string> active() const override { return {"ce"}; }
  Value compute(const Step& step) override {
    torch::Tensor ce = torch::nn::functional::cross_entropy(step.student_out.logits, step.labels);
    return {weight_ * ce, {{"ce", ce.detach()}}};
  }

 private:
  double weight_;
};

}  // namespace

std::shared_ptr<Objective> cross_entropy_objective(double weight) {
  return std::make_shared<CrossEntropyObjective>(weight);
}

}  // namespace r2q::train
