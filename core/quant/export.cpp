// Integer export of quantized layers.
#include "core/quant/export.h"

#include <torch/torch.h>

#include <stdexcept>

namespace r2q::quant {

torch::Tensor odd_code_bitplanes(const torch::Tensor& codes, int bits) {
  torch::Tensor u = (codes.to(torch::kInt32) + ((1 << bits) - 1)).div(2, "floor");
  std::vector<torch::Tensor> planes;
  for (int i = 0; i < bits; ++i)
    planes.push_back((u.bitwise_right_shift(i).bitwise_and(1) * 2 - 1).to(torch::kInt8));
  return torch::stack(planes);
}

std::optional<IntegerWeights> export_weights(const torch::Tensor& weight, Quantizer* quantizer) {
  if (!quantizer || !quantizer->integer_grid()) return std::nullopt;
  torch::NoGradGuard no_grad;
  Quantized q = quantizer->quantize(weight);
  if (!torch::equal(q.codes, q.codes.round()))
    throw std::logic_error(quantizer->describe() + ": non-integer codes");
  IntegerWeights out;
  out.codes = q.codes.to(torch::kInt32);
  out.scale = q.scale.to(torch::kFloat32).flatten();
  if (out.scale.numel() == 1) out.scale = out.scale.expand({weight.size(0)}).clone();
  out.min_code = quantizer->min_code();
  out.max_code = quantizer->max_code();
  if (quantizer->odd_codes()) {
    int bits = 0;
    while ((int64_t{1} << bits) - 1 < out.max_code) ++bits;
    out.bits = bits;
    out.bitplanes = odd_code_bitplanes(out.codes, bits);
  }
  return out;
}

std::optional<IntegerActivations> export_activations(Quantizer* quantizer) {
  if (!quantizer || !quantizer->integer_grid()) return std::nullopt;
  return IntegerActivations{quantizer->activation_scale().item<double>(), quantizer->min_code(),
                            quantizer->max_code()};
}

torch::Tensor activation_codes(const torch::Tensor& x, Quantizer* quantizer) {
  torch::NoGradGuard no_grad;
  return quantizer->quantize(x).codes.to(torch::kInt32);
}

}  // namespace r2q::quant
