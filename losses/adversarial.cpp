// The adversarial term: the quantized student is the generator of a Wasserstein GAN whose critics (one per
// stage) tell the teacher's embeddings ("real") from the student's ("fake").
#include <torch/torch.h>

#include "losses/critic.h"
#include "losses/functional.h"
#include "losses/terms.h"

namespace r2q::losses {
namespace {

constexpr int64_t kCriticHidden = 128;

class Adversarial : public LossTerm {
 public:
  Adversarial(const LossConfig& c, const std::vector<int64_t>& widths)
      : n_critic_(c.n_critic), penalty_(c.lipschitz_mode == "gp" ? c.lipschitz_weight : 0.0) {
    TORCH_CHECK(!widths.empty(), "adversarial loss: the model reports no stage embeddings");
    for (size_t i = 0; i < widths.size(); ++i)
      critics_.push_back(register_module(
          "critic" + std::to_string(i + 1),
          Critic(widths[i], kCriticHidden, c.lipschitz_mode == "spectral", c.power_iterations)));
    // The WGAN-GP paper's critic optimizer.
    optimizer_ = std::make_unique<torch::optim::Adam>(
        parameters(), torch::optim::AdamOptions(c.critic_lr).betas(std::make_tuple(0.5, 0.9)));
  }

  bool needs_teacher() const override { return true; }
  bool needs_stages() const override { return true; }

  torch::Tensor compute(const Step& s) override {
    const auto& fake = s.student_out.stages;
    const auto& real = s.teacher_out->stages;
    TORCH_CHECK(fake.size() == critics_.size() && real.size() == critics_.size(),
                "adversarial loss: stage count changed");
    const double stages = static_cast<double>(critics_.size());

    // n_critic updates: maximise E D(real) - E D(fake) (minus the gradient penalty) on detached embeddings.
    for (int it = 0; it < n_critic_; ++it) {
      optimizer_->zero_grad();
      torch::Tensor loss = torch::zeros({}, fake[0].options());
      for (size_t k = 0; k < critics_.size(); ++k) {
        auto f = fake[k].detach();
        loss = loss + critics_[k]->forward(f).mean() - critics_[k]->forward(real[k]).mean();
        if (penalty_ > 0) {
          auto critic = [&](const torch::Tensor& x) { return critics_[k]->forward(x); };
          loss = loss + penalty_ * gradient_penalty(critic, real[k], f);
        }
      }
      (loss / stages).backward();
      optimizer_->step();
    }

    // The generator's loss, -E D(fake); the critics are constants here.
    for (auto& p : parameters()) p.requires_grad_(false);
    torch::Tensor g = torch::zeros({}, fake[0].options());
    for (size_t k = 0; k < critics_.size(); ++k) g = g - critics_[k]->forward(fake[k]).mean();
    for (auto& p : parameters()) p.requires_grad_(true);
    return g / stages;
  }

  void save_optimizers(torch::serialize::OutputArchive& archive) const override {
    torch::serialize::OutputArchive a;
    optimizer_->save(a);
    archive.write("adversarial_critic_optimizer", a);
  }
  void load_optimizers(torch::serialize::InputArchive& archive) override {
    torch::serialize::InputArchive a;
    archive.read("adversarial_critic_optimizer", a);
    optimizer_->load(a);
  }

 private:
  int n_critic_;
  double penalty_;
  std::vector<Critic> critics_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace

LossTermPtr make_adversarial(const TermSetup& setup) {
  return std::make_shared<Adversarial>(setup.config, setup.stage_widths);
}

}  // namespace r2q::losses
