// Straight-through estimators as autograd functions.
#include "core/quant/ste.h"

#include <torch/torch.h>

namespace r2q::quant {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct RoundSte : torch::autograd::Function<RoundSte> {
  static torch::Tensor forward(AutogradContext*, const torch::Tensor& x) {
    // torch::round rounds half to even; codes here round half away from zero, as the formulas in METHOD.md
    // do.
    return torch::sign(x) * torch::floor(torch::abs(x) + 0.5);
  }
  static variable_list backward(AutogradContext*, variable_list grad) { return {grad[0]}; }
};

struct OddRoundSte : torch::autograd::Function<OddRoundSte> {
  static torch::Tensor forward(AutogradContext*, const torch::Tensor& x) {
    return 2 * torch::floor(x * 0.5) + 1;
  }
  static variable_list backward(AutogradContext*, variable_list grad) { return {grad[0]}; }
};

struct SignSte : torch::autograd::Function<SignSte> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, bool clip_gradient) {
    ctx->saved_data["clip"] = clip_gradient;
    if (clip_gradient) ctx->save_for_backward({x});
    return torch::where(x >= 0, torch::ones_like(x), -torch::ones_like(x));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    if (!ctx->saved_data["clip"].toBool()) return {grad[0], torch::Tensor()};
    auto x = ctx->get_saved_variables()[0];
    return {grad[0] * (x.abs() <= 1).to(grad[0].dtype()), torch::Tensor()};
  }
};

struct StraightThrough : torch::autograd::Function<StraightThrough> {
  static torch::Tensor forward(AutogradContext*, const torch::Tensor& value, const torch::Tensor& surrogate) {
    (void)surrogate;
    return value.clone();
  }
  static variable_list backward(AutogradContext*, variable_list grad) { return {torch::Tensor(), grad[0]}; }
};

struct ScaleGrad : torch::autograd::Function<ScaleGrad> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, double scale) {
    ctx->saved_data["scale"] = scale;
    return x.view_as(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {grad[0] * ctx->saved_data["scale"].toDouble(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor round_ste(const torch::Tensor& x) {
  return RoundSte::apply(x);
}
torch::Tensor odd_round_ste(const torch::Tensor& x) {
  return OddRoundSte::apply(x);
}
torch::Tensor sign_ste(const torch::Tensor& x, bool clip_gradient) {
  return SignSte::apply(x, clip_gradient);
}
torch::Tensor straight_through(const torch::Tensor& value, const torch::Tensor& surrogate) {
  return StraightThrough::apply(value, surrogate);
}
torch::Tensor scale_grad(const torch::Tensor& x, double scale) {
  return ScaleGrad::apply(x, scale);
}

}  // namespace r2q::quant
