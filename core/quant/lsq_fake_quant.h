// LSQ's fake quantization as one pass over the tensor forward and one backward, for dense float32 CPU
// tensors.
//
// The operation chain round_ste(clamp(x / s, -qn, qp)) * s makes LibTorch allocate and fill eight tensors of
// x's size forward and about as many backward, and an activation quantizer sits on every middle layer: on a
// 2-core CPU these passes (and the page faults of their fresh memory) took about as long as the convolutions.
// This function computes the same values with the same float32 operations per element, forward and backward,
// so results are bit for bit those of the chain (tests/core/quant_fused_test.cpp checks values, the input's
// gradient and the step's gradient against it). Other tensors (CUDA, float64, non-dense) take the chain; a
// backward pass that is itself differentiated (create_graph) computes the same gradients with LibTorch
// operations, so second derivatives are the chain's too.
#pragma once

#include <torch/types.h>

namespace r2q::quant {

// codes(x) * s with codes = round_half_away(clamp(x / s, -qn, qp)); `s` is a one-element float tensor (LSQ's
// step, possibly requiring a gradient). Gradients: straight through the rounding, zero outside [-qn, qp] for
// x, and LSQ's step gradient for s (the chain's: sum(g * codes) - sum(g_in_range * s * (x / s) / s)).
torch::Tensor lsq_fake_quant(const torch::Tensor& x, const torch::Tensor& s, double qn, double qp);

// LSQ's codes round_ste(clamp(x / s, -qn, qp)) as LibTorch operations (what quantize() exports).
torch::Tensor lsq_codes(const torch::Tensor& x, const torch::Tensor& s, double qn, double qp);

// The reference chain itself, lsq_codes(x, s, qn, qp) * s (autograd through LibTorch's operations), used for
// other tensors and by tests.
torch::Tensor lsq_fake_quant_chain(const torch::Tensor& x, const torch::Tensor& s, double qn, double qp);

}  // namespace r2q::quant
