// Straight-through building blocks. Each is a custom autograd function, so the forward value is exactly the
// rounded / signed value (no x + (q - x).detach() round-off) while the backward pass is the estimator's.
#pragma once

#include <torch/types.h>

namespace r2q::quant {

// round(x) (half away from zero, like std::round); backward: identity.
torch::Tensor round_ste(const torch::Tensor& x);

// The nearest odd integer, 2 * floor(x / 2) + 1; backward: identity.
torch::Tensor odd_round_ste(const torch::Tensor& x);

// sign(x) with sign(0) = +1. Backward: identity where |x| <= 1 and zero elsewhere (BinaryConnect, XNOR-Net),
// or plain identity with clip_gradient = false (DoReFa's 1-bit weights).
torch::Tensor sign_ste(const torch::Tensor& x, bool clip_gradient = true);

// Returns `value` (which must not require gradients) in the forward pass; in the backward pass the gradient
// goes to `surrogate` instead. For estimators whose gradient is not that of the codes * scale product (PACT).
torch::Tensor straight_through(const torch::Tensor& value, const torch::Tensor& surrogate);

// x unchanged; backward: gradient times `scale` (LSQ's step-size gradient scaling).
torch::Tensor scale_grad(const torch::Tensor& x, double scale);

}  // namespace r2q::quant
