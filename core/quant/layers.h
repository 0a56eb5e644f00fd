// Quantized layers and the factory that builds them from a run's quant config. Models create every conv and
// linear layer through a LayerFactory, so any model can be built with any method.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <optional>
#include <string>

#include "core/quant/quantizer.h"
#include "core/spec/run_config.h"

namespace r2q::quant {

// Where a layer sits: the first and last layers use `quant.first_last_bits` (DESIGN §1.6).
enum class Role { First, Middle, Last };

struct ConvSpec {
  int64_t in = 0, out = 0, kernel = 3, stride = 1, padding = 0, groups = 1;
  bool bias = false;
  Role role = Role::Middle;
  bool input_signed = false;  // the layer's input can be negative (no ReLU before it)
};

struct LinearSpec {
  int64_t in = 0, out = 0;
  bool bias = true;
  Role role = Role::Middle;
  bool input_signed = false;
};

// A convolution whose input and weight pass through quantizers (either may be absent: full precision).
class QConv2dImpl : public torch::nn::Module {
 public:
  QConv2dImpl(const ConvSpec& spec, QuantizerPtr weight_quantizer, QuantizerPtr input_quantizer);
  torch::Tensor forward(const torch::Tensor& x);

  const ConvSpec& spec() const { return spec_; }
  torch::Tensor weight, bias;  // bias undefined when spec.bias is false
  Quantizer* weight_quantizer() const { return wq_.get(); }
  Quantizer* input_quantizer() const { return aq_.get(); }

 private:
  ConvSpec spec_;
  QuantizerPtr wq_, aq_;
};
TORCH_MODULE(QConv2d);

class QLinearImpl : public torch::nn::Module {
 public:
  QLinearImpl(const LinearSpec& spec, QuantizerPtr weight_quantizer, QuantizerPtr input_quantizer);
  torch::Tensor forward(const torch::Tensor& x);

  const LinearSpec& spec() const { return spec_; }
  torch::Tensor weight, bias;
  Quantizer* weight_quantizer() const { return wq_.get(); }
  Quantizer* input_quantizer() const { return aq_.get(); }

 private:
  LinearSpec spec_;
  QuantizerPtr wq_, aq_;
};
TORCH_MODULE(QLinear);

// The quantization settings of a run (the "quant" object of its config).
using QuantConfig = spec::QuantConfig;

class LayerFactory {
 public:
  LayerFactory() : LayerFactory(QuantConfig{}) {}
  explicit LayerFactory(QuantConfig config);
  QConv2d conv(const ConvSpec& spec) const;
  QLinear linear(const LinearSpec& spec) const;
  // The nonlinearity between layers. ReLU, except for methods with binary activations (XNOR-Net), whose sign
  // needs the signed pre-activation: there it is the identity (the sign's clipped gradient acts as hardtanh).
  torch::Tensor activation(const torch::Tensor& x) const;
  // Whether the output of activation() can be negative (inputs of following layers are then signed).
  bool activations_signed() const { return binary_activations_; }
  const QuantConfig& config() const { return config_; }

 private:
  QuantizerPtr weight_quantizer(Role role, int64_t out_channels, int64_t weights, int64_t fan_out) const;
  QuantizerPtr input_quantizer(Role role, bool input_signed) const;

  QuantConfig config_;
  bool binary_activations_ = false;
};

}  // namespace r2q::quant
