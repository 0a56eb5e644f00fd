// XNOR-Net (Rastegari et al., ECCV 2016): binary weights and activations with scaling factors
// (docs/METHOD.md §XNOR-Net).
#include <torch/torch.h>

#include "core/quant/methods/methods.h"
#include "core/quant/ste.h"

namespace r2q::quant {
namespace {

// W ~ alpha_c sign(W), alpha_c = mean |W_c|. Autograd differentiates alpha as well, which gives the paper's
// gradient dW~/dW = 1/n + alpha * 1_{|W| <= 1}.
class XnorWeight : public Quantizer {
 public:
  Quantized quantize(const torch::Tensor& w) override { return {sign_ste(w), per_channel_mean_abs(w)}; }
  int64_t min_code() const override { return -1; }
  int64_t max_code() const override { return 1; }
  std::string describe() const override { return "XNOR-Net weights, 1 bit"; }
};

// I ~ sign(I); the convolution output is multiplied by K = A * k, A = mean_c |I|, k the k x k averaging
// filter (computed with the layer's stride and padding), held constant in the backward pass.
class XnorAct : public Quantizer {
 public:
  Quantized quantize(const torch::Tensor& x) override { return {sign_ste(x), torch::ones({1}, x.options())}; }
  std::optional<torch::Tensor> output_scale(const torch::Tensor& x, int64_t kernel, int64_t stride,
                                            int64_t padding) override {
    torch::NoGradGuard g;
    torch::Tensor a = x.abs().mean(1, /*keepdim=*/true);
    if (x.dim() == 2) return a;  // fully connected: one factor per sample
    return torch::avg_pool2d(a, kernel, stride, padding, /*ceil_mode=*/false, /*count_include_pad=*/true);
  }
  bool integer_grid() const override { return false; }
  int64_t min_code() const override { return -1; }
  int64_t max_code() const override { return 1; }
  std::string describe() const override { return "XNOR-Net activations, 1 bit, output scaled by K"; }
};

}  // namespace

QuantizerPtr make_xnor_weight() {
  return std::make_shared<XnorWeight>();
}
QuantizerPtr make_xnor_act() {
  return std::make_shared<XnorAct>();
}

}  // namespace r2q::quant
