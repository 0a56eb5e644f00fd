// The structural term: relational knowledge distillation on every stage's embedding.
#include <torch/torch.h>

#include "losses/functional.h"
#include "losses/terms.h"

namespace r2q::losses {
namespace {

class Structural : public LossTerm {
 public:
  explicit Structural(double angle_weight) : angle_weight_(angle_weight) {}
  bool needs_teacher() const override { return true; }
  bool needs_stages() const override { return true; }

  // Mean over stages of RKD-D + angle_weight * RKD-A.
  torch::Tensor compute(const Step& s) override {
    const auto& student = s.student_out.stages;
    const auto& teacher = s.teacher_out->stages;
    TORCH_CHECK(student.size() == teacher.size() && !student.empty(), "structural loss: ", student.size(),
                " student stages vs ", teacher.size(), " teacher stages");
    torch::Tensor total = torch::zeros({}, student[0].options());
    for (size_t i = 0; i < student.size(); ++i) {
      total = total + rkd_distance(student[i], teacher[i]);
      if (angle_weight_ > 0) total = total + angle_weight_ * rkd_angle(student[i], teacher[i]);
    }
    return total / static_cast<double>(student.size());
  }

 private:
  double angle_weight_;
};

}  // namespace

LossTermPtr make_structural(const TermSetup& setup) {
  return std::make_shared<Structural>(setup.config.structural_angle);
}

}  // namespace r2q::losses
