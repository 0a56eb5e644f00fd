// APoT (Li, Dong, Wang, ICLR 2020): additive powers-of-two levels with learned clipping, as in the authors'
// CIFAR-10 reference code (docs/METHOD.md §APoT).
#include <torch/torch.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "core/quant/methods/methods.h"
#include "core/quant/ste.h"

namespace r2q::quant {

// The level set of build_power_value(B, additive=True) as integers: every level is a sum of powers of two
// whose smallest term is 2^-smallest; multiplying by 2^smallest makes the set integral. Dividing by its
// maximum gives the reference's levels on [0, 1]. Returns the sorted integer levels.
std::vector<int64_t> apot_levels(int b) {
  // Exponents of the power-of-two terms of each additive component (0 in every component is implicit).
  std::vector<std::vector<int>> parts;
  switch (b) {
    case 2:
      parts = {{1, 2, 3}};
      break;
    case 3:
      parts = {{1, 2, 4}, {3}};
      break;
    case 4:
      parts = {{1, 3, 5}, {2, 4, 6}};
      break;
    case 5:
      parts = {{1, 3, 6}, {2, 4, 7}, {5}};
      break;
    case 6:
      parts = {{1, 4, 7}, {2, 5, 8}, {3, 6, 9}};
      break;
    default:
      throw std::invalid_argument("APoT levels exist for 2-6 bits, not " + std::to_string(b));
  }
  int smallest = 0;
  for (const auto& p : parts) smallest = std::max(smallest, *std::max_element(p.begin(), p.end()));
  std::set<int64_t> levels = {0};
  for (const auto& p : parts) {
    std::set<int64_t> next;
    for (int64_t l : levels) {
      next.insert(l);
      for (int e : p) next.insert(l + (int64_t{1} << (smallest - e)));
    }
    levels = std::move(next);
  }
  return {levels.begin(), levels.end()};
}

namespace {

// Nearest level (ties to the lower one) of t in [0, max]; backward: identity.
struct Project : torch::autograd::Function<Project> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& t,
                               const torch::Tensor& levels) {
    auto upper = torch::searchsorted(levels, t.contiguous()).clamp(1, levels.numel() - 1);
    auto hi = levels.index_select(0, upper.flatten()).view_as(t);
    auto lo = levels.index_select(0, (upper - 1).flatten()).view_as(t);
    return torch::where(hi - t < t - lo, hi, lo);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list g) {
    return {g[0], torch::Tensor()};
  }
};

// |x| / alpha clipped to [0, 1] and projected onto the level set; codes are the integer levels, the scale
// alpha / max level. With the projection straight-through, d(value)/d(alpha) is (q - x) inside the clip range
// and sign(x) outside: the paper's reparameterised clipping function.
class Apot : public Quantizer {
 public:
  // Weights (signed): uniform ternary at 2 bits (the reference's rule: "for 2-bit weights PoT = uniform"),
  // sign + APoT magnitude of b - 1 bits above. Activations (unsigned): APoT levels of b bits.
  Apot(int bits, bool is_signed, bool weights) : bits_(bits), signed_(is_signed), weights_(weights) {
    std::vector<int64_t> levels = !is_signed  ? apot_levels(bits)
                                  : bits == 2 ? std::vector<int64_t>{0, 1}
                                              : apot_levels(bits - 1);
    max_level_ = levels.back();
    levels_ = register_buffer("levels", torch::tensor(levels, torch::kFloat32));
    // The reference's initial clipping values (CIFAR-10): 3 (standardised weights) and 8 (activations).
    alpha_ = register_parameter("alpha", torch::full({1}, weights ? 3.0 : 8.0));
  }

  Quantized quantize(const torch::Tensor& input) override {
    torch::Tensor x = input;
    if (weights_) {
      // Weights are standardised per layer first, with the statistics held constant (CIFAR-10 reference).
      auto mean = input.mean().detach();
      auto std = input.std().detach().clamp_min(1e-8);
      x = (input - mean) / std;
    }
    torch::Tensor t = x / alpha_;
    torch::Tensor clipped = signed_ ? t.clamp(-1.0, 1.0) : t.clamp(0.0, 1.0);
    torch::Tensor magnitude = Project::apply(clipped.abs() * static_cast<double>(max_level_), levels_);
    torch::Tensor codes = signed_ ? magnitude * sign_ste(clipped, false) : magnitude;
    return {codes, alpha_ / static_cast<double>(max_level_)};
  }
  torch::Tensor activation_scale() const override {
    return (alpha_.detach() / static_cast<double>(max_level_)).clone();
  }
  int64_t min_code() const override { return signed_ ? -max_level_ : 0; }
  int64_t max_code() const override { return max_level_; }
  std::string describe() const override {
    return std::string("APoT ") + (weights_ ? "weights" : "activations") + ", " + std::to_string(bits_) +
           " bits";
  }

 private:
  int bits_;
  bool signed_, weights_;
  int64_t max_level_ = 1;
  torch::Tensor levels_, alpha_;
};

}  // namespace

QuantizerPtr make_apot_weight(int bits) {
  return std::make_shared<Apot>(bits, true, true);
}
QuantizerPtr make_apot_act(int bits, bool is_signed) {
  return std::make_shared<Apot>(bits, is_signed, false);
}

}  // namespace r2q::quant
