// The quantizer interface. A quantizer is a module (it may own learnable scales) that maps a tensor to
// integer codes and a scale with value = codes * scale. The fake-quantized tensor used in training is
// computed from exactly that product, so exporting codes and scales reproduces it bit for bit (the deployment
// contract).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace r2q::quant {

struct Quantized {
  torch::Tensor codes;  // integer-valued floats; gradients flow through them straight-through
  torch::Tensor scale;  // broadcastable to codes (per channel for weights, a scalar for activations)
};

class Quantizer : public torch::nn::Module {
 public:
  // Codes and scale of `x`; learnable scales are initialised from the first tensor seen.
  virtual Quantized quantize(const torch::Tensor& x) = 0;
  // The fake-quantized tensor, codes * scale.
  virtual torch::Tensor forward(const torch::Tensor& x) {
    auto q = quantize(x);
    return q.codes * q.scale;
  }
  // Smallest and largest code (e.g. -3..3 for 2-bit r2q weights, 0..3 for 2-bit activations).
  virtual std::int64_t min_code() const = 0;
  virtual std::int64_t max_code() const = 0;
  // False when the levels are not codes on an integer grid times a fixed scale (LQ-Nets' learned bases,
  // XNOR-Net's input-dependent activation scale): such layers have no integer export.
  virtual bool integer_grid() const { return true; }
  // Codes are odd integers m = sum_i 2^i b_i, b_i in {-1, +1} (r2q, DoReFa): bit-plane export applies.
  virtual bool odd_codes() const { return false; }
  // An optional input-dependent factor that multiplies the layer's output (XNOR-Net's K); computed from the
  // layer input for a convolution of the given geometry.
  virtual std::optional<torch::Tensor> output_scale(const torch::Tensor& /*input*/, int64_t /*kernel*/,
                                                    int64_t /*stride*/, int64_t /*padding*/) {
    return std::nullopt;
  }
  // The scale of an activation quantizer, which does not depend on the input (for the integer export).
  // Throws for weight quantizers and input-dependent scales.
  virtual torch::Tensor activation_scale() const {
    throw std::logic_error(describe() + ": no input-independent scale");
  }
  virtual std::string describe() const = 0;
};

using QuantizerPtr = std::shared_ptr<Quantizer>;

// A flag that survives checkpoints: learnable scales are initialised once, from data, then trained.
class LazyInit {
 public:
  explicit LazyInit(torch::nn::Module& owner)
      : flag_(owner.register_buffer("initialized", torch::zeros({1}))) {}
  bool done() const { return flag_.item<float>() != 0; }
  void mark() { flag_.fill_(1); }

 private:
  torch::Tensor flag_;
};

}  // namespace r2q::quant
