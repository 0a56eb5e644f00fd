// R2Q weights: residual binary bases with power-of-two coefficients (DESIGN §1.1, docs/METHOD.md §R2Q).
#include <torch/torch.h>

#include <cmath>

#include "core/quant/methods/methods.h"
#include "core/quant/ste.h"

namespace r2q::quant {
namespace {

class R2qWeight : public Quantizer {
 public:
  R2qWeight(int bits, int64_t out_channels, int64_t weights_per_channel)
      : bits_(bits),
        half_(std::ldexp(1.0, bits - 1)),
        qmax_(std::ldexp(1.0, bits) - 1),
        grad_scale_(1.0 / std::sqrt(static_cast<double>(weights_per_channel) * qmax_)),
        init_(*this) {
    alpha_ = register_parameter("alpha", torch::ones({out_channels}));
  }

  Quantized quantize(const torch::Tensor& w) override {
    std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
    shape[0] = w.size(0);
    if (!init_.done()) {
      // Levels alpha * {+-0.5, +-1.5} (k = 2) centred on the weights: alpha = 2 mean|w| 2^(k-1) / (2^k - 1).
      torch::NoGradGuard g;
      alpha_.copy_((per_channel_mean_abs(w) * (2 * half_ / qmax_)).flatten().clamp_min(1e-8));
      init_.mark();
    }
    // LSQ: the step-size gradient is scaled by 1 / sqrt(weights per channel * Qp). alpha_c > 0 (DESIGN §1.1):
    // as LSQ's step, its magnitude is used, so that SGD carrying the parameter through zero cannot flip it.
    torch::Tensor alpha = scale_grad(alpha_.abs().clamp_min(1e-8), grad_scale_).view(shape);
    torch::Tensor v = (w / alpha * half_).clamp(-qmax_, qmax_);
    // The nearest odd integer; v = +-qmax maps to +-qmax itself.
    torch::Tensor m = odd_round_ste(v).clamp(-qmax_, qmax_);
    return {m, alpha / half_};
  }
  int64_t min_code() const override { return -static_cast<int64_t>(qmax_); }
  int64_t max_code() const override { return static_cast<int64_t>(qmax_); }
  bool odd_codes() const override { return true; }
  std::string describe() const override { return "r2q weights, " + std::to_string(bits_) + " bits"; }

 private:
  int bits_;
  double half_, qmax_, grad_scale_;
  LazyInit init_;
  torch::Tensor alpha_;
};

}  // namespace

QuantizerPtr make_r2q_weight(int bits, int64_t out_channels, int64_t weights_per_channel) {
  return std::make_shared<R2qWeight>(bits, out_channels, weights_per_channel);
}

QuantizerPtr make_r2q_act(int bits, bool is_signed) {
  // The activation half of R2Q is LSQ-style: unsigned codes 0..2^k-1 on [0, beta] with beta = s * Qp
  // learnable.
  return make_lsq_act(bits, is_signed);
}

}  // namespace r2q::quant
