// The quantizers of every method (formulas and sources: docs/METHOD.md). Weight quantizers work per output
// channel (dimension 0) unless the method is per-tensor; activation quantizers per tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "core/quant/quantizer.h"

namespace r2q::quant {

// r2q: k-bit weights as sums of k binary bases with power-of-two coefficients: odd codes m in
// [-(2^k - 1), 2^k - 1], w_q = alpha_c * m / 2^(k-1), learnable per-channel alpha (LSQ gradient).
QuantizerPtr make_r2q_weight(int bits, std::int64_t out_channels, std::int64_t weights_per_channel);
// r2q / LSQ-style activations: a_int = round(clamp(a / beta, 0, 1) * (2^k - 1)), learnable clip beta.
QuantizerPtr make_r2q_act(int bits, bool is_signed);

// LSQ: uniform codes in [-Qn, Qp] times a learnable step size s (per tensor) with LSQ's gradient and scaling.
QuantizerPtr make_lsq_weight(int bits, std::int64_t weights);
QuantizerPtr make_lsq_act(int bits, bool is_signed);

// DoReFa-Net: weights tanh-normalised to [0, 1], quantised uniformly, mapped to [-1, 1]; activations
// quantised on clip(a, 0, 1).
QuantizerPtr make_dorefa_weight(int bits);
QuantizerPtr make_dorefa_act(int bits, bool is_signed);

// PACT: activations clipped at a learnable alpha, then quantised uniformly (weights: DoReFa).
QuantizerPtr make_pact_act(int bits, bool is_signed);

// XNOR-Net: sign(W) * mean|W| per output channel; activations sign(I) with the output scaled by K.
QuantizerPtr make_xnor_weight();
QuantizerPtr make_xnor_act();

// APoT: additive powers-of-two levels with learnable clipping (weights standardised first).
QuantizerPtr make_apot_weight(int bits);
QuantizerPtr make_apot_act(int bits, bool is_signed);

// LQ-Nets: learned quantizer bases, codes {-1,+1}^K (weights, per channel) or {0,1}^K (activations), updated
// by least squares (QEM) with a moving average.
QuantizerPtr make_lqnet_weight(int bits, std::int64_t out_channels, std::int64_t fan_out);
QuantizerPtr make_lqnet_act(int bits, bool is_signed);

// APoT's level set for `bits` (2-6) as sorted integers; divided by the largest they are the reference code's
// levels on [0, 1] (build_power_value(bits, additive=True)).
std::vector<std::int64_t> apot_levels(int bits);

// Reduction of |w| over every dimension but the first, kept as [C, 1, ...] for broadcasting.
torch::Tensor per_channel_mean_abs(const torch::Tensor& w);

}  // namespace r2q::quant
