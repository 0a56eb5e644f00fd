// Conversion of a trained LibTorch model (eval mode) to the deployment IR (core/deploy): models describe
// their forward pass to a DeployBuilder, which turns quantized layers into integer conv/linear layers with
// BatchNorm folded.
#pragma once

#include <torch/nn/modules/batchnorm.h>

#include <string>
#include <vector>

#include "core/deploy/model.h"
#include "core/nn/network.h"
#include "core/quant/layers.h"

namespace r2q::nn {

// What a model's Network::to_deploy() emits, layer by layer, in execution order. Each call defines one new
// value and returns its id; the model input is value kInputValue. Names must be unique (module paths).
// Models implement Network::to_deploy against this interface; the converter (to_deploy_model) implements it.
class DeployBuilder {
 public:
  virtual ~DeployBuilder() = default;

  virtual int normalize(const std::string& name, const nn::NormalizeImpl& normalize, int x) = 0;
  // A quantized convolution, then the BatchNorm `bn` (null when none follows), then `activation`.
  virtual int conv(const std::string& name, const quant::QConv2dImpl& conv,
                   const torch::nn::BatchNorm2dImpl* bn, deploy::Activation activation, int x) = 0;
  virtual int linear(const std::string& name, const quant::QLinearImpl& linear, deploy::Activation activation,
                     int x) = 0;
  virtual int max_pool(const std::string& name, const deploy::Pool& pool, int x) = 0;
  virtual int avg_pool(const std::string& name, const deploy::Pool& pool, int x) = 0;
  virtual int global_avg_pool(const std::string& name, int x) = 0;
  virtual int flatten(const std::string& name, int x) = 0;
  virtual int add(const std::string& name, const std::vector<int>& xs, deploy::Activation activation) = 0;
  virtual int concat(const std::string& name, const std::vector<int>& xs) = 0;
  virtual int channel_pad_subsample(const std::string& name, const deploy::PadSubsample& shortcut, int x) = 0;
};

// The deploy activation of a LayerFactory's activation(): ReLU, or none for binary-activation methods (XNOR),
// whose factory activation is the identity. `clip6`: the model clamps at 6 after it (MobileNetV2's ReLU6).
inline deploy::Activation factory_activation(const quant::LayerFactory& layers, bool clip6 = false) {
  if (layers.activations_signed()) return deploy::Activation::None;
  return clip6 ? deploy::Activation::Relu6 : deploy::Activation::Relu;
}

// The deployment model of `network` for inputs of shape `input`. The network must be in eval mode (BatchNorm
// uses its running statistics) with every quantizer initialised (trained or loaded). Layers whose input
// quantizer rounds differently from the IR's rule get a float input; each is listed in
// metadata["float_inputs"] with the reason. Throws InputError for a model or method the IR cannot express
// (XNOR-Net's input-dependent output scale, a model without to_deploy). metadata has "classes"; the caller
// adds the rest.
deploy::Model to_deploy_model(const nn::Network& network, const deploy::Shape& input);

}  // namespace r2q::nn
