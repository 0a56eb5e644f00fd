// The integer export contract (DESIGN §1.3): a quantized layer yields integer weight codes, per-channel
// weight scales and its input's activation scale such that codes * scale reproduces the fake-quantized
// tensors exactly. Deployment kernels are checked against this.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/quant/layers.h"

namespace r2q::quant {

struct IntegerWeights {
  torch::Tensor codes;  // int32, the weight's shape
  torch::Tensor scale;  // float32 [out_channels]: w_q[c] = codes[c] * scale[c]
  int64_t min_code = 0, max_code = 0;
  // For odd codes (r2q, DoReFa): bit-planes b_i in {-1, +1} (int8, [bits, ...weight shape]) with
  // codes = sum_i 2^i b_i.
  std::optional<torch::Tensor> bitplanes;
  int bits = 0;  // number of bit-planes (odd codes only)
};

struct IntegerActivations {
  double scale = 0;  // a_q = codes * scale
  int64_t min_code = 0, max_code = 0;
};

// Weight codes and scales of a layer, or nullopt when it has no integer form (full precision, LQ-Nets).
std::optional<IntegerWeights> export_weights(const torch::Tensor& weight, Quantizer* quantizer);
// The input quantizer's scale and code range, or nullopt when absent or input-dependent (XNOR-Net).
std::optional<IntegerActivations> export_activations(Quantizer* quantizer);
// Integer codes of an activation tensor under the layer's input quantizer.
torch::Tensor activation_codes(const torch::Tensor& x, Quantizer* quantizer);

// b_i = 2 bit_i(u) - 1 with u = (m + 2^k - 1) / 2, for odd codes m in [-(2^k - 1), 2^k - 1]; int8 [k, ...].
torch::Tensor odd_code_bitplanes(const torch::Tensor& codes, int bits);

}  // namespace r2q::quant
