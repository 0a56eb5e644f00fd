// LSQ (Esser et al., ICLR 2020): uniform codes times a learned step size (docs/METHOD.md §LSQ).
#include <torch/torch.h>

#include <cmath>

#include "core/quant/lsq_fake_quant.h"
#include "core/quant/methods/methods.h"
#include "core/quant/ste.h"

namespace r2q::quant {
namespace {

class Lsq : public Quantizer {
 public:
  // `elements` is the number of weights of the layer; 0 for activations, whose element count is read from the
  // input at each call.
  Lsq(int bits, bool is_signed, int64_t elements, const char* what)
      : bits_(bits),
        qn_(is_signed ? std::ldexp(1.0, bits - 1) : 0.0),
        qp_(is_signed ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1),
        elements_(elements),
        what_(what),
        init_(*this) {
    step_ = register_parameter("step", torch::ones({1}));
  }

  Quantized quantize(const torch::Tensor& x) override {
    torch::Tensor s = step_for(x);
    return {lsq_codes(x, s, qn_, qp_), s};
  }
  // codes * s as quantize() computes them, in one pass per direction where the tensor allows
  // (lsq_fake_quant.h).
  torch::Tensor forward(const torch::Tensor& x) override { return lsq_fake_quant(x, step_for(x), qn_, qp_); }
  torch::Tensor activation_scale() const override {
    if (!init_.done()) throw std::logic_error(describe() + ": step size not initialised (no data seen yet)");
    return positive(step_.detach());
  }
  int64_t min_code() const override { return -static_cast<int64_t>(qn_); }
  int64_t max_code() const override { return static_cast<int64_t>(qp_); }
  std::string describe() const override {
    return std::string("LSQ ") + what_ + ", " + std::to_string(bits_) + " bits" + (qn_ > 0 ? ", signed" : "");
  }

 private:
  // The step the quantizer uses: the parameter's magnitude, at least kMinStep. LSQ needs s > 0, but plain SGD
  // on s can carry it through zero (seen: an 8-bit last layer trained to s = -0.55, its codes collapsed to
  // {-2..1}); |s| keeps the step positive with the gradient LSQ gives a positive step, whatever sign the
  // parameter takes.
  static torch::Tensor positive(const torch::Tensor& step) { return step.abs().clamp_min(kMinStep); }

  // The step s, initialised from the first tensor seen, with LSQ's gradient scale.
  torch::Tensor step_for(const torch::Tensor& x) {
    if (!init_.done()) {
      torch::NoGradGuard g;
      step_.fill_(std::max(2.0 * x.abs().mean().item<double>() / std::sqrt(qp_), kMinStep));
      init_.mark();
    }
    // N: the layer's weights, or the activation tensor's elements (batch included, as the common LSQ
    // reimplementation does; the paper leaves it open).
    const double n = elements_ > 0 ? static_cast<double>(elements_) : static_cast<double>(x.numel());
    return scale_grad(positive(step_), 1.0 / std::sqrt(n * qp_));
  }
  static constexpr double kMinStep = 1e-8;

  int bits_;
  double qn_, qp_;
  int64_t elements_;
  const char* what_;
  LazyInit init_;
  torch::Tensor step_;
};

}  // namespace

QuantizerPtr make_lsq_weight(int bits, int64_t weights) {
  return std::make_shared<Lsq>(bits, true, weights, "weights");
}

QuantizerPtr make_lsq_act(int bits, bool is_signed) {
  return std::make_shared<Lsq>(bits, is_signed, 0, "activations");
}

}  // namespace r2q::quant
