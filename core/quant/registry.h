// Quantization methods by name, with the bit-widths each supports, and the policy for first and last layers.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/quant/layers.h"
#include "core/quant/quantizer.h"
#include "core/util/registry.h"

namespace r2q::quant {

struct WeightRequest {
  int bits;
  int64_t out_channels;
  int64_t weights;  // in the layer
  int64_t fan_out;  // out_channels * kernel area (He initialisation's fan-out)
};

struct ActRequest {
  int bits;
  bool input_signed;
};

struct QuantMethod {
  std::string description;
  std::vector<int> weight_bits, act_bits;  // supported; empty = bit-widths do not apply (fp32)
  std::function<QuantizerPtr(const WeightRequest&)> weight;  // null: full-precision weights
  std::function<QuantizerPtr(const ActRequest&)> act;        // null: full-precision activations
  bool binary_activations = false;                           // activations are +-1 (no ReLU between layers)
};

Registry<QuantMethod>& method_registry();
void register_builtins(Registry<QuantMethod>& registry);

// Checks a quant config against what its method supports. The InputError names the field and lists the
// supported bit-widths.
void check_supported(const QuantConfig& config);

// First and last layers (DESIGN §1.6): LSQ at first_last_bits for every method, so that they are a uniform
// symmetric int8 grid on the deployment side; full precision when first_last_bits is 32.
QuantizerPtr edge_weight_quantizer(const QuantConfig& config, int64_t weights);
QuantizerPtr edge_input_quantizer(const QuantConfig& config, bool input_signed);

}  // namespace r2q::quant
