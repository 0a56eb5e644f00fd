// The spectral term: sum over the student's convolution and linear layers of sigma(W)^2, W the latent
// full-precision weight reshaped to out x (in * k * k), sigma by power iteration with persistent vectors.
#include <torch/torch.h>

#include "core/quant/layers.h"
#include "losses/functional.h"
#include "losses/terms.h"

namespace r2q::losses {
namespace {

class Spectral : public LossTerm {
 public:
  Spectral(nn::Network& student, int iterations) : iterations_(iterations) {
    for (const auto& m : student.modules(/*include_self=*/false)) {
      if (auto* conv = m->as<quant::QConv2dImpl>())
        weights_.push_back(conv->weight);
      else if (auto* linear = m->as<quant::QLinearImpl>())
        weights_.push_back(linear->weight);
    }
    TORCH_CHECK(!weights_.empty(), "spectral loss: the model has no convolution or linear layers");
    for (size_t i = 0; i < weights_.size(); ++i)
      u_.push_back(register_buffer(
          "u" + std::to_string(i + 1),
          torch::nn::functional::normalize(torch::randn({weights_[i].size(0)}),
                                           torch::nn::functional::NormalizeFuncOptions().dim(0))));
  }

  torch::Tensor compute(const Step& s) override {
    torch::Tensor total = torch::zeros({}, s.student_out.logits.options());
    for (size_t i = 0; i < weights_.size(); ++i)
      total = total + spectral_norm(weights_[i].flatten(1), u_[i], iterations_).pow(2);
    return total;
  }

 private:
  int iterations_;
  std::vector<torch::Tensor> weights_, u_;
};

}  // namespace

LossTermPtr make_spectral(const TermSetup& setup) {
  return std::make_shared<Spectral>(setup.student, setup.config.power_iterations);
}

}  // namespace r2q::losses
