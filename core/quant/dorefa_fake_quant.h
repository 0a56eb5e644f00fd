// DoReFa's activation fake quantization, round_ste(clamp(a, lo, 1) * qmax) * (1 / qmax), as one pass over
// the tensor forward and one backward for dense float32 CPU tensors.
//
// As an operation chain it is eight elementwise tensors forward (clamp, the product with qmax, the rounding's
// sign, abs, add, floor and product, the product with the scale) and five backward (two products, the clamp's
// two comparisons and its where), on every activation of every quantized middle layer. The
// one-pass version computes the same float32 operation per element, in the chain's order, so values and the
// input's gradient are bit for bit the chain's (tests/core/quant_fused_test.cpp). Other tensors (CUDA,
// float64, non-dense) take the chain; a backward pass that is itself differentiated (create_graph) uses
// LibTorch operations, so second derivatives are the chain's too.
#pragma once

#include <torch/types.h>

namespace r2q::quant {

// DoReFa's activation codes round_ste(clamp(a, lo, 1) * qmax) (lo = 0 for unsigned activations, -1 for
// signed ones), as LibTorch operations: what quantize() exports.
torch::Tensor dorefa_act_codes(const torch::Tensor& a, double lo, double qmax);

// Their scale, 1 / qmax as a one-element float tensor.
torch::Tensor dorefa_act_scale(double qmax, const torch::TensorOptions& options);

// codes * scale in one pass per direction where the tensor allows; the gradient is straight through the
// rounding and zero outside [lo, 1] (LibTorch's clamp backward).
torch::Tensor dorefa_act_fake_quant(const torch::Tensor& a, double lo, double qmax);

// The reference chain, dorefa_act_codes(a, lo, qmax) * dorefa_act_scale(qmax), used for other tensors and by
// tests.
torch::Tensor dorefa_act_fake_quant_chain(const torch::Tensor& a, double lo, double qmax);

}  // namespace r2q::quant
