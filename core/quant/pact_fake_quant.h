// PACT's activation fake quantization with its learnable clip alpha, as one pass over the tensor forward and
// one backward for dense float32 CPU tensors.
//
// The value is round_ste(clip(a, lo, alpha_c) / alpha_c * qmax) * (alpha_c / qmax) with alpha_c =
// max(|alpha|, 1e-8) and lo = 0 (unsigned) or -alpha_c (signed); the gradient is PACT's, that of the
// surrogate clip(a, lo, |alpha|) written with LibTorch's minimum and maximum: 1 inside the clip range, 0
// outside, and half at ties (an input equal to a bound, e.g. the exact zeros a ReLU gives), for the input and
// for alpha alike. As an operation chain that is about twenty elementwise tensors per direction; the one-pass
// version computes the same float32 operations per element, in the chain's order, and reduces alpha's
// gradient with LibTorch's own at::sum_to, so values and both gradients are the chain's bit for bit
// (tests/core/quant_fused_test.cpp). Other tensors take the chain; a backward pass under create_graph uses
// LibTorch operations.
#pragma once

#include <torch/types.h>

#include "core/quant/quantizer.h"

namespace r2q::quant {

// Codes and scale (alpha_c / qmax) as LibTorch operations without gradient: what quantize() exports.
Quantized pact_quantize(const torch::Tensor& a, const torch::Tensor& alpha, bool is_signed, double qmax);

// codes * scale, with PACT's gradient for a and alpha, in one pass per direction where the tensor allows.
torch::Tensor pact_fake_quant(const torch::Tensor& a, const torch::Tensor& alpha, bool is_signed,
                              double qmax);

// The reference chain (pact_quantize's value, the gradient of the surrogate's LibTorch operations), used for
// other tensors and by tests.
torch::Tensor pact_fake_quant_chain(const torch::Tensor& a, const torch::Tensor& alpha, bool is_signed,
                                    double qmax);

}  // namespace r2q::quant
