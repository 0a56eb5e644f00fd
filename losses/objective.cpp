// The objective.
#include "losses/objective.h"

#include <torch/torch.h>

#include "core/util/error.h"

namespace r2q::losses {

Objective::Objective(const LossConfig& config, nn::Network& student, std::vector<int64_t> stage_widths) {
  TermSetup setup{config, student, std::move(stage_widths)};
  for (const auto& name : term_order()) {
    const auto& entry = loss_registry().get(name);
    const double weight = entry.weight(config);
    if (weight <= 0) continue;
    auto term = register_module(name, entry.build(setup));
    needs_teacher_ = needs_teacher_ || term->needs_teacher();
    needs_stages_ = needs_stages_ || term->needs_stages();
    terms_.push_back({name, weight, term});
  }
  if (terms_.empty()) throw InputError("loss: every term has weight 0; turn on at least one (loss.ce = 1)");
}

std::vector<std::string> Objective::active() const {
  std::vector<std::string> names;
  for (const auto& t : terms_) names.push_back(t.name);
  return names;
}

Objective::Value Objective::compute(const Step& step) {
  if (needs_teacher_ && !step.teacher_out) throw std::logic_error("the objective needs the teacher's output");
  Value value;
  for (auto& t : terms_) {
    torch::Tensor v = t.term->compute(step);
    value.parts.emplace_back(t.name, v.detach());  // no read back: on a GPU it would wait for the device
    value.total = value.total.defined() ? value.total + t.weight * v : t.weight * v;
  }
  return value;
}

void Objective::save(torch::serialize::OutputArchive& archive) const {
  torch::nn::Module::save(archive);
  for (const auto& t : terms_) t.term->save_optimizers(archive);
}

void Objective::load(torch::serialize::InputArchive& archive) {
  torch::nn::Module::load(archive);
  for (auto& t : terms_) t.term->load_optimizers(archive);
}

}  // namespace r2q::losses
