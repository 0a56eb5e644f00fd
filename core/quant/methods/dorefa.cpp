// DoReFa-Net (Zhou et al. 2016) weights and activations; PACT (Choi et al. 2018) activations
// (docs/METHOD.md §DoReFa, §PACT).
#include <torch/torch.h>

#include <cmath>

#include "core/quant/dorefa_fake_quant.h"
#include "core/quant/methods/methods.h"
#include "core/quant/pact_fake_quant.h"
#include "core/quant/ste.h"

namespace r2q::quant {
namespace {

class DorefaWeight : public Quantizer {
 public:
  explicit DorefaWeight(int bits) : bits_(bits), qmax_(std::ldexp(1.0, bits) - 1) {}

  Quantized quantize(const torch::Tensor& w) override {
    if (bits_ == 1) {
      // sign(w) * E|w| with E per tensor and without gradient; identity straight-through for the sign.
      torch::Tensor e = w.abs().mean().detach().clamp_min(1e-8);
      return {sign_ste(w, /*clip_gradient=*/false), e.view({1})};
    }
    torch::Tensor t = torch::tanh(w);
    torch::Tensor unit = t / (2 * t.abs().max()) + 0.5;  // in [0, 1]
    torch::Tensor c = round_ste(unit * qmax_);           // 0 .. 2^k - 1
    // w_q = 2 c / (2^k - 1) - 1 = (2 c - (2^k - 1)) / (2^k - 1): odd codes on a fixed scale.
    return {2 * c - qmax_, torch::full({1}, 1.0 / qmax_, w.options())};
  }
  int64_t min_code() const override { return -static_cast<int64_t>(qmax_); }
  int64_t max_code() const override { return static_cast<int64_t>(qmax_); }
  bool odd_codes() const override { return true; }
  std::string describe() const override { return "DoReFa weights, " + std::to_string(bits_) + " bits"; }

 private:
  int bits_;
  double qmax_;
};

// Unsigned: codes round(clip(a, 0, 1) * (2^k - 1)). Signed inputs (our extension, for layers whose input has
// no ReLU): codes round(clip(a, -1, 1) * (2^(k-1) - 1)).
class DorefaAct : public Quantizer {
 public:
  DorefaAct(int bits, bool is_signed)
      : bits_(bits),
        signed_(is_signed),
        qmax_(is_signed ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1) {}

  Quantized quantize(const torch::Tensor& a) override {
    return {dorefa_act_codes(a, lo(), qmax_), dorefa_act_scale(qmax_, a.options())};
  }
  // codes * scale as quantize() computes them, in one pass per direction where the tensor allows
  // (dorefa_fake_quant.h).
  torch::Tensor forward(const torch::Tensor& a) override { return dorefa_act_fake_quant(a, lo(), qmax_); }
  torch::Tensor activation_scale() const override { return dorefa_act_scale(qmax_, {}); }
  int64_t min_code() const override { return signed_ ? -static_cast<int64_t>(qmax_) : 0; }
  int64_t max_code() const override { return static_cast<int64_t>(qmax_); }
  std::string describe() const override { return "DoReFa activations, " + std::to_string(bits_) + " bits"; }

 private:
  double lo() const { return signed_ ? -1.0 : 0.0; }

  int bits_;
  bool signed_;
  double qmax_;
};

// y = clip(a, 0, alpha), codes round(y (2^k - 1) / alpha), scale alpha / (2^k - 1). The gradient is PACT's:
// d/da = 1 on [0, alpha], d/dalpha = 1 where a >= alpha (the rounding is straight-through on y).
class PactAct : public Quantizer {
 public:
  PactAct(int bits, bool is_signed)
      : bits_(bits),
        signed_(is_signed),
        qmax_(is_signed ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1) {
    alpha_ = register_parameter("alpha", torch::full({1}, 10.0));  // the paper's initial value
  }

  Quantized quantize(const torch::Tensor& a) override { return pact_quantize(a, alpha_, signed_, qmax_); }
  // codes * scale as quantize() computes them, with PACT's gradient, in one pass per direction where the
  // tensor allows (pact_fake_quant.h).
  torch::Tensor forward(const torch::Tensor& a) override {
    return pact_fake_quant(a, alpha_, signed_, qmax_);
  }
  torch::Tensor activation_scale() const override {
    return (alpha_.detach().abs().clamp_min(1e-8) / qmax_).clone();
  }
  int64_t min_code() const override { return signed_ ? -static_cast<int64_t>(qmax_) : 0; }
  int64_t max_code() const override { return static_cast<int64_t>(qmax_); }
  std::string describe() const override { return "PACT activations, " + std::to_string(bits_) + " bits"; }

 private:
  int bits_;
  bool signed_;
  double qmax_;
  torch::Tensor alpha_;
};

}  // namespace

QuantizerPtr make_dorefa_weight(int bits) {
  return std::make_shared<DorefaWeight>(bits);
}
QuantizerPtr make_dorefa_act(int bits, bool is_signed) {
  return std::make_shared<DorefaAct>(bits, is_signed);
}
QuantizerPtr make_pact_act(int bits, bool is_signed) {
  return std::make_shared<PactAct>(bits, is_signed);
}

}  // namespace r2q::quant
