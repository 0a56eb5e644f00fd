// Quantized layers and the layer factory.
#include "core/quant/layers.h"

#include <torch/torch.h>

#include <cmath>

#include "core/quant/registry.h"

namespace r2q::quant {

QConv2dImpl::QConv2dImpl(const ConvSpec& spec, QuantizerPtr weight_quantizer, QuantizerPtr input_quantizer)
    : spec_(spec), wq_(std::move(weight_quantizer)), aq_(std::move(input_quantizer)) {
  // The initialisation of torch::nn::Conv2d: kaiming_uniform(a = sqrt(5)); models re-initialise as they need.
  weight =
      register_parameter("weight", torch::empty({spec.out, spec.in / spec.groups, spec.kernel, spec.kernel}));
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (spec.bias) {
    double bound = 1.0 / std::sqrt(static_cast<double>(spec.in / spec.groups * spec.kernel * spec.kernel));
    bias = register_parameter("bias", torch::empty({spec.out}).uniform_(-bound, bound));
  }
  if (wq_) register_module("weight_quantizer", wq_);
  if (aq_) register_module("input_quantizer", aq_);
}

torch::Tensor QConv2dImpl::forward(const torch::Tensor& x) {
  torch::Tensor input = aq_ ? aq_->forward(x) : x;
  torch::Tensor w = wq_ ? wq_->forward(weight) : weight;
  torch::Tensor y = torch::conv2d(input, w, bias, spec_.stride, spec_.padding, /*dilation=*/1, spec_.groups);
  if (aq_)
    if (auto k = aq_->output_scale(x, spec_.kernel, spec_.stride, spec_.padding)) y = y * *k;
  return y;
}

QLinearImpl::QLinearImpl(const LinearSpec& spec, QuantizerPtr weight_quantizer, QuantizerPtr input_quantizer)
    : spec_(spec), wq_(std::move(weight_quantizer)), aq_(std::move(input_quantizer)) {
  weight = register_parameter("weight", torch::empty({spec.out, spec.in}));
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (spec.bias) {
    double bound = 1.0 / std::sqrt(static_cast<double>(spec.in));
    bias = register_parameter("bias", torch::empty({spec.out}).uniform_(-bound, bound));
  }
  if (wq_) register_module("weight_quantizer", wq_);
  if (aq_) register_module("input_quantizer", aq_);
}

torch::Tensor QLinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor input = aq_ ? aq_->forward(x) : x;
  torch::Tensor w = wq_ ? wq_->forward(weight) : weight;
  torch::Tensor y = torch::linear(input, w, bias);
  if (aq_)
    if (auto k = aq_->output_scale(x, 1, 1, 0)) y = y * *k;
  return y;
}

LayerFactory::LayerFactory(QuantConfig config) : config_(std::move(config)) {
  binary_activations_ = method_registry().get(config_.method).binary_activations;
}

QuantizerPtr LayerFactory::weight_quantizer(Role role, int64_t out_channels, int64_t weights,
                                            int64_t fan_out) const {
  const QuantMethod& method = method_registry().get(config_.method);
  if (role != Role::Middle) return edge_weight_quantizer(config_, weights);
  if (!method.weight) return nullptr;
  return method.weight({config_.weight_bits, out_channels, weights, fan_out});
}

QuantizerPtr LayerFactory::input_quantizer(Role role, bool input_signed) const {
  const QuantMethod& method = method_registry().get(config_.method);
  // The first layer's input is the image itself: already 8-bit data, never re-quantised.
  if (role == Role::First) return nullptr;
  if (role == Role::Last) return edge_input_quantizer(config_, input_signed);
  if (!method.act) return nullptr;
  return method.act({config_.act_bits, input_signed});
}

QConv2d LayerFactory::conv(const ConvSpec& spec) const {
  int64_t weights = spec.out * (spec.in / spec.groups) * spec.kernel * spec.kernel;
  return QConv2d(spec, weight_quantizer(spec.role, spec.out, weights, spec.out * spec.kernel * spec.kernel),
                 input_quantizer(spec.role, spec.input_signed));
}

QLinear LayerFactory::linear(const LinearSpec& spec) const {
  return QLinear(spec, weight_quantizer(spec.role, spec.out, spec.out * spec.in, spec.out),
                 input_quantizer(spec.role, spec.input_signed));
}

torch::Tensor LayerFactory::activation(const torch::Tensor& x) const {
  return binary_activations_ ? x : torch::relu(x);
}

}  // namespace r2q::quant
