// LQ-Nets (Zhang et al., ECCV 2018): learned quantizer bases updated by quantization-error minimisation
// (least squares) with a moving average, as in the authors' reference code (docs/METHOD.md §LQ-Nets).
#include <torch/torch.h>

#include <cmath>

#include "core/quant/methods/methods.h"
#include "core/quant/ste.h"

namespace r2q::quant {
namespace {

constexpr double kMedianAbsNormal = 0.6745;  // Phi^-1(0.75)
constexpr double kMovingAverage = 0.9;
constexpr double kRidge = 1e-4;

// All 2^K code vectors: e_j = bit j of i, mapped to {-1, +1} (signed) or kept in {0, 1}. [2^K, K]
torch::Tensor code_table(int bits, bool is_signed) {
  torch::Tensor t = torch::empty({int64_t{1} << bits, bits});
  for (int64_t i = 0; i < t.size(0); ++i)
    for (int j = 0; j < bits; ++j) {
      bool on = (i >> j) & 1;
      t[i][j] = on ? 1.0 : (is_signed ? -1.0 : 0.0);
    }
  return t;
}

// Levels of a basis [G, K] under the code table [L, K]: [G, L], and for every element of x ([G, N]) the index
// of its nearest level.
struct Assignment {
  torch::Tensor levels;   // [G, L]
  torch::Tensor nearest;  // [G, N] int64
};

Assignment assign(const torch::Tensor& x, const torch::Tensor& basis, const torch::Tensor& codes) {
  torch::Tensor levels = torch::matmul(basis, codes.t());                 // [G, L]
  torch::Tensor distance = (x.unsqueeze(2) - levels.unsqueeze(1)).abs();  // [G, N, L]
  return {levels, distance.argmin(2)};
}

// Least-squares basis minimising ||x - B^T v|| per group, with a ridge pulling towards the old basis.
torch::Tensor solve_basis(const torch::Tensor& x, const torch::Tensor& nearest, const torch::Tensor& codes,
                          const torch::Tensor& old, double ridge) {
  torch::Tensor b =
      codes.index_select(0, nearest.flatten()).view({x.size(0), x.size(1), codes.size(1)});  // [G,N,K]
  torch::Tensor bbt = torch::matmul(b.transpose(1, 2), b);                                   // [G,K,K]
  torch::Tensor bx = torch::matmul(b.transpose(1, 2), x.unsqueeze(2)).squeeze(2);            // [G,K]
  auto eye = torch::eye(codes.size(1), bbt.options()).expand_as(bbt);
  // linalg_solve: declared in both LibTorch 1.13 and 2.x (torch::linalg::solve is not in 2.11).
  return torch::linalg_solve(bbt + ridge * eye, (bx + ridge * old).unsqueeze(2), /*left=*/true).squeeze(2);
}

class LqNet : public Quantizer {
 public:
  // Weights: a basis per output channel, codes in {-1,+1}^K. Activations: one basis per layer, codes in
  // {0,1}^K (in {-1,+1}^K for signed inputs, our extension).
  LqNet(int bits, bool is_signed, bool weights, int64_t groups, int64_t fan_out)
      : bits_(bits), signed_(is_signed), weights_(weights) {
    codes_ = register_buffer("codes", code_table(bits, is_signed));
    double base =
        weights ? kMedianAbsNormal * std::sqrt(2.0 / static_cast<double>(fan_out)) / std::ldexp(1.0, bits - 1)
                : kMedianAbsNormal * 2.0 / (std::ldexp(1.0, bits) - 1);
    torch::Tensor init = torch::empty({groups, bits});
    for (int j = 0; j < bits; ++j) init.select(1, j).fill_(std::ldexp(base, j));
    basis_ = register_buffer("basis", init);
  }

  Quantized quantize(const torch::Tensor& input) override {
    torch::Tensor x = weights_ ? input.detach().flatten(1) : input.detach().reshape({1, -1});
    Assignment a = assign(x, basis_, codes_);
    if (is_training()) {
      // QEM: one least-squares step per iteration, folded into the basis with a moving average.
      torch::NoGradGuard g;
      torch::Tensor fresh = solve_basis(x, a.nearest, codes_, basis_, weights_ ? kRidge : 1e-8);
      basis_.mul_(kMovingAverage).add_(fresh, 1 - kMovingAverage);
      a = assign(x, basis_, codes_);
    }
    torch::Tensor q = a.levels.gather(1, a.nearest).view_as(input);
    // Straight-through: weights pass the gradient everywhere; activations below the largest level only.
    torch::Tensor surrogate = input;
    if (!weights_) surrogate = torch::min(input, a.levels.max().detach());
    return {straight_through(q, surrogate), torch::ones({1}, input.options())};
  }
  bool integer_grid() const override { return false; }
  int64_t min_code() const override { return signed_ ? -((int64_t{1} << bits_) - 1) : 0; }
  int64_t max_code() const override { return (int64_t{1} << bits_) - 1; }
  std::string describe() const override {
    return std::string("LQ-Nets ") + (weights_ ? "weights" : "activations") + ", " + std::to_string(bits_) +
           " bits";
  }

 private:
  int bits_;
  bool signed_, weights_;
  torch::Tensor codes_, basis_;
};

}  // namespace

QuantizerPtr make_lqnet_weight(int bits, int64_t out_channels, int64_t fan_out) {
  return std::make_shared<LqNet>(bits, true, true, out_channels, fan_out);
}
QuantizerPtr make_lqnet_act(int bits, bool is_signed) {
  return std::make_shared<LqNet>(bits, is_signed, false, 1, 1);
}

}  // namespace r2q::quant
