// The one-pass fake quantizers against the operation chains they replace. LSQ (core/quant/lsq_fake_quant.h):
// forward values, the input's gradient and the step's gradient must be equal bit for bit, for the level
// ranges r2q uses (2-bit unsigned and signed activations, 8-bit edges), every memory layout the models
// produce, values on the rounding ties and the clamp edges, and one and two threads. DoReFa's activations
// (core/quant/dorefa_fake_quant.h): values and the input's gradient, the same way. PACT's
// (core/quant/pact_fake_quant.h): values and the gradients of the input and of alpha, ties at the clip's
// bounds (where LibTorch's minimum and maximum halve the gradient) included.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/quant/dorefa_fake_quant.h"
#include "core/quant/lsq_fake_quant.h"
#include "core/quant/methods/methods.h"
#include "core/quant/pact_fake_quant.h"

namespace r2q::quant {
namespace {

// True when a and b have the same shape and the same bits everywhere (NaN included).
bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != torch::kFloat || b.scalar_type() != torch::kFloat)
    return false;
  torch::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr<float>(), cb.data_ptr<float>(), sizeof(float) * ca.numel()) == 0;
}

// Activations around the levels: Gaussian values, exact ties (k + 0.5) * s, values just inside (-0.5 s, 0),
// zeros of both signs and far outliers on both clamp edges.
torch::Tensor sample_input(const std::vector<int64_t>& shape, float s, double qn, double qp, int seed) {
  torch::manual_seed(seed);
  torch::Tensor x =
      torch::randn(shape) * static_cast<float>((qp + qn) * s * 0.6) + static_cast<float>((qp - qn) * s * 0.5);
  float* p = x.data_ptr<float>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i + 6 < n; i += 37) {
    const float k = static_cast<float>(static_cast<int64_t>(i / 37) % static_cast<int64_t>(qp + qn + 1) - qn);
    p[i] = (k + 0.5f) * s;
    p[i + 1] = -0.25f * s;
    p[i + 2] = 0.0f;
    p[i + 3] = -0.0f;
    p[i + 4] = static_cast<float>(qp + 7) * s;
    p[i + 5] = static_cast<float>(-qn - 7) * s;
    p[i + 6] = static_cast<float>(qp) * s;
  }
  return x;
}

struct Case {
  double qn, qp;
  float s;
};

// A fake quantizer of x with one scalar parameter p (LSQ's step, PACT's clip; ignored by DoReFa).
using FakeQuant = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& p)>;

// Runs the chain and the one-pass version on copies of x0 (its layout kept) with the parameter p0, and
// compares the outputs and the gradients of x and of p (where the quantizer uses it) bit for bit.
void expect_same_as_chain(const torch::Tensor& x0, float p0, const FakeQuant& chain, const FakeQuant& fused,
                          const std::string& what) {
  torch::Tensor x_chain = x0.detach().clone(at::MemoryFormat::Preserve).requires_grad_(true);
  torch::Tensor x_fused = x0.detach().clone(at::MemoryFormat::Preserve).requires_grad_(true);
  torch::Tensor p_chain = torch::full({1}, p0).requires_grad_(true);
  torch::Tensor p_fused = torch::full({1}, p0).requires_grad_(true);
  torch::Tensor y_chain = chain(x_chain, p_chain);
  torch::Tensor y_fused = fused(x_fused, p_fused);
  ASSERT_TRUE(same_bits(y_chain, y_fused)) << what << ": forward";
  EXPECT_EQ(y_chain.strides(), y_fused.strides()) << what;
  // A gradient with some structure (not all ones), in the output's layout as a convolution would give it.
  torch::Tensor g = torch::randn(y_chain.sizes()).to(y_chain.suggest_memory_format());
  y_chain.backward(g);
  y_fused.backward(g);
  EXPECT_TRUE(same_bits(x_chain.grad(), x_fused.grad())) << what << ": d/dx";
  ASSERT_EQ(p_chain.grad().defined(), p_fused.grad().defined()) << what;
  if (p_chain.grad().defined()) {
    EXPECT_TRUE(same_bits(p_chain.grad(), p_fused.grad()))
        << what << ": d/dp " << p_chain.grad().item<float>() << " vs " << p_fused.grad().item<float>();
  }
}

void expect_same(const torch::Tensor& x0, const Case& c, const std::string& what) {
  expect_same_as_chain(
      x0, c.s,
      [&](const torch::Tensor& x, const torch::Tensor& s) { return lsq_fake_quant_chain(x, s, c.qn, c.qp); },
      [&](const torch::Tensor& x, const torch::Tensor& s) { return lsq_fake_quant(x, s, c.qn, c.qp); }, what);
}

const std::vector<Case> kCases = {
    {0, 3, 0.37f},      // 2-bit unsigned activations
    {2, 1, 0.11f},      // 2-bit signed
    {128, 127, 0.02f},  // 8-bit signed (first / last layers)
    {0, 255, 0.013f},   // 8-bit unsigned
};

TEST(LsqFakeQuant, EqualsTheChainBitForBitContiguous) {
  for (const Case& c : kCases)
    expect_same(sample_input({4, 5, 7, 9}, c.s, c.qn, c.qp, 1), c, "NCHW " + std::to_string(c.qp));
}

TEST(LsqFakeQuant, EqualsTheChainBitForBitChannelsLast) {
  for (const Case& c : kCases) {
    torch::Tensor x =
        sample_input({6, 16, 14, 14}, c.s, c.qn, c.qp, 2).contiguous(at::MemoryFormat::ChannelsLast);
    expect_same(x, c, "NHWC " + std::to_string(c.qp));
  }
}

TEST(LsqFakeQuant, EqualsTheChainBitForBitOnLinearInputsAndWeights) {
  for (const Case& c : kCases) {
    expect_same(sample_input({33, 64}, c.s, c.qn, c.qp, 3), c, "2-D " + std::to_string(c.qp));
    expect_same(sample_input({8, 3, 3, 3}, c.s, c.qn, c.qp, 4), c, "weights " + std::to_string(c.qp));
  }
}

TEST(LsqFakeQuant, EqualsTheChainOnOneAndTwoThreadsAndLargeTensors) {
  const int saved = at::get_num_threads();
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    const Case c{0, 3, 0.21f};
    torch::Tensor x =
        sample_input({32, 16, 28, 28}, c.s, c.qn, c.qp, 5).contiguous(at::MemoryFormat::ChannelsLast);
    expect_same(x, c, std::to_string(threads) + " threads");
  }
  at::set_num_threads(saved);
}

TEST(LsqFakeQuant, GradientLayoutDifferentFromTheInput) {
  // The incoming gradient in NCHW while the input is NHWC: still the chain's values (the reduction of d/ds
  // runs in the input's layout in both).
  const Case c{0, 3, 0.3f};
  torch::Tensor x0 =
      sample_input({3, 8, 5, 5}, c.s, c.qn, c.qp, 6).contiguous(at::MemoryFormat::ChannelsLast);
  torch::Tensor xa = x0.clone().requires_grad_(true), xb = x0.clone().requires_grad_(true);
  torch::Tensor sa = torch::full({1}, c.s).requires_grad_(true),
                sb = torch::full({1}, c.s).requires_grad_(true);
  torch::Tensor g = torch::randn({3, 8, 5, 5});
  lsq_fake_quant_chain(xa, sa, c.qn, c.qp).backward(g);
  lsq_fake_quant(xb, sb, c.qn, c.qp).backward(g);
  EXPECT_TRUE(same_bits(xa.grad(), xb.grad()));
  EXPECT_NEAR(sa.grad().item<float>(), sb.grad().item<float>(),
              1e-4 * std::abs(sa.grad().item<float>()) + 1e-6);
}

TEST(LsqFakeQuant, BackwardWithCreateGraphIsDifferentiableAsTheChain) {
  // A gradient penalty through a quantized layer differentiates the backward pass itself: the second
  // derivatives (with respect to x's gradient's weights and to s) must be the chain's.
  const Case c{0, 3, 0.3f};
  torch::Tensor x0 = sample_input({2, 4, 5, 5}, c.s, c.qn, c.qp, 9);
  std::vector<torch::Tensor> results[2];
  for (int fused = 0; fused < 2; ++fused) {
    torch::Tensor x = x0.clone().requires_grad_(true);
    torch::Tensor s = torch::full({1}, c.s).requires_grad_(true);
    torch::Tensor w = torch::linspace(-1, 1, x0.numel()).view(x0.sizes());
    torch::Tensor y = fused ? lsq_fake_quant(x, s, c.qn, c.qp) : lsq_fake_quant_chain(x, s, c.qn, c.qp);
    auto first = torch::autograd::grad({(y * y * w).sum()}, {x, s}, {}, true, /*create_graph=*/true);
    ASSERT_TRUE(first[0].requires_grad());
    torch::Tensor penalty = first[0].pow(2).sum() + first[1].pow(2).sum();
    auto second = torch::autograd::grad({penalty}, {s}, {}, false, false, /*allow_unused=*/true);
    results[fused] = {first[0].detach(), first[1].detach(), second[0]};
  }
  EXPECT_TRUE(same_bits(results[0][0], results[1][0]));
  EXPECT_TRUE(same_bits(results[0][1], results[1][1]));
  ASSERT_TRUE(results[0][2].defined() && results[1][2].defined());
  EXPECT_TRUE(torch::allclose(results[0][2], results[1][2], 1e-5, 1e-6))
      << results[0][2].item<float>() << " vs " << results[1][2].item<float>();
}

TEST(LsqFakeQuant, NanStaysNanAndOtherTensorsTakeTheChain) {
  const Case c{0, 3, 0.5f};
  torch::Tensor x = torch::tensor({1.0f, NAN, -1.0f, 0.7f});
  torch::Tensor s = torch::full({1}, c.s);
  torch::Tensor a = lsq_fake_quant_chain(x, s, c.qn, c.qp), b = lsq_fake_quant(x, s, c.qn, c.qp);
  EXPECT_TRUE(torch::equal(a.isnan(), b.isnan()));
  EXPECT_TRUE(torch::equal(a.nan_to_num(), b.nan_to_num()));
  // Non-dense (a strided view) and float64 inputs: the chain itself, same values.
  torch::Tensor wide = sample_input({4, 10}, c.s, c.qn, c.qp, 7);
  torch::Tensor view = wide.slice(1, 0, 10, 2);
  EXPECT_TRUE(same_bits(lsq_fake_quant(view, s, c.qn, c.qp), lsq_fake_quant_chain(view, s, c.qn, c.qp)));
  torch::Tensor d = wide.to(torch::kDouble);
  EXPECT_TRUE(torch::equal(lsq_fake_quant(d, s.to(torch::kDouble), c.qn, c.qp),
                           lsq_fake_quant_chain(d, s.to(torch::kDouble), c.qn, c.qp)));
}

TEST(LsqFakeQuant, QuantizerForwardIsCodesTimesScaleWithTheSameStepGradient) {
  // The LSQ module's forward (fused) against codes * scale from its quantize() (the chain the export uses),
  // including the gradient the learnable step receives through |step|, clamp_min and LSQ's gradient scale.
  for (bool is_signed : {false, true}) {
    auto fused = make_lsq_act(2, is_signed);
    auto chain = make_lsq_act(2, is_signed);
    torch::Tensor x = sample_input({4, 16, 6, 6}, 0.3f, is_signed ? 2 : 0, is_signed ? 1 : 3, 8)
                          .contiguous(at::MemoryFormat::ChannelsLast);
    torch::Tensor ya = fused->forward(x);  // initialises the step from x
    {
      torch::NoGradGuard g;
      chain->named_parameters()["step"].copy_(fused->named_parameters()["step"]);
      chain->named_buffers()["initialized"].fill_(1);
    }
    auto q = chain->quantize(x);
    torch::Tensor yb = q.codes * q.scale;
    ASSERT_TRUE(same_bits(ya, yb)) << "signed " << is_signed;
    torch::Tensor g = torch::randn(ya.sizes()).contiguous(at::MemoryFormat::ChannelsLast);
    ya.backward(g);
    yb.backward(g);
    EXPECT_TRUE(same_bits(fused->named_parameters()["step"].grad(), chain->named_parameters()["step"].grad()))
        << "signed " << is_signed;
  }
}

// DoReFa activations around their levels: Gaussian values over [lo, 1] and beyond, the rounding ties
// (k + 0.5) / qmax, the clamp edges lo and 1, zeros of both signs and far outliers.
torch::Tensor dorefa_input(const std::vector<int64_t>& shape, double lo, double qmax, int seed) {
  torch::manual_seed(seed);
  torch::Tensor a =
      torch::randn(shape) * static_cast<float>(0.6 * (1 - lo)) + static_cast<float>(0.5 * (1 + lo));
  float* p = a.data_ptr<float>();
  const int64_t n = a.numel();
  const auto levels = static_cast<int64_t>(qmax * (1 - lo)) + 1;
  for (int64_t i = 0; i + 6 < n; i += 29) {
    const double k = static_cast<double>((i / 29) % levels) + lo * qmax;
    p[i] = static_cast<float>((k + 0.5) / qmax);
    p[i + 1] = static_cast<float>(lo);
    p[i + 2] = 0.0f;
    p[i + 3] = -0.0f;
    p[i + 4] = 1.0f;
    p[i + 5] = 9.0f;
    p[i + 6] = -9.0f;
  }
  return a;
}

struct DorefaCase {
  double lo, qmax;
};

const std::vector<DorefaCase> kDorefaCases = {
    {0, 3},     // 2-bit unsigned activations
    {-1, 1},    // 2-bit signed (codes -1..1)
    {0, 1},     // 1 bit
    {0, 255},   // 8-bit unsigned
    {-1, 127},  // 8-bit signed
};

void expect_dorefa_same(const torch::Tensor& a0, const DorefaCase& c, const std::string& what) {
  expect_same_as_chain(
      a0, 0.0f,
      [&](const torch::Tensor& a, const torch::Tensor&) {
        return dorefa_act_fake_quant_chain(a, c.lo, c.qmax);
      },
      [&](const torch::Tensor& a, const torch::Tensor&) { return dorefa_act_fake_quant(a, c.lo, c.qmax); },
      what);
}

TEST(DorefaFakeQuant, EqualsTheChainBitForBitInEveryLayout) {
  for (const DorefaCase& c : kDorefaCases) {
    const std::string levels = std::to_string(c.lo) + ".." + std::to_string(c.qmax);
    expect_dorefa_same(dorefa_input({4, 5, 7, 9}, c.lo, c.qmax, 1), c, "NCHW " + levels);
    expect_dorefa_same(
        dorefa_input({6, 16, 14, 14}, c.lo, c.qmax, 2).contiguous(at::MemoryFormat::ChannelsLast), c,
        "NHWC " + levels);
    expect_dorefa_same(dorefa_input({33, 64}, c.lo, c.qmax, 3), c, "2-D " + levels);
  }
}

TEST(DorefaFakeQuant, EqualsTheChainOnOneAndTwoThreadsAndLargeTensors) {
  const int saved = at::get_num_threads();
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    torch::Tensor a = dorefa_input({32, 16, 28, 28}, 0, 3, 5).contiguous(at::MemoryFormat::ChannelsLast);
    expect_dorefa_same(a, {0, 3}, std::to_string(threads) + " threads");
  }
  at::set_num_threads(saved);
}

TEST(DorefaFakeQuant, GradientLayoutDifferentFromTheInput) {
  torch::Tensor a0 = dorefa_input({3, 8, 5, 5}, 0, 3, 6).contiguous(at::MemoryFormat::ChannelsLast);
  torch::Tensor aa = a0.clone().requires_grad_(true), ab = a0.clone().requires_grad_(true);
  torch::Tensor g = torch::randn({3, 8, 5, 5});
  dorefa_act_fake_quant_chain(aa, 0, 3).backward(g);
  dorefa_act_fake_quant(ab, 0, 3).backward(g);
  EXPECT_TRUE(same_bits(aa.grad(), ab.grad()));
}

TEST(DorefaFakeQuant, BackwardWithCreateGraphIsDifferentiableAsTheChain) {
  torch::Tensor a0 = dorefa_input({2, 4, 5, 5}, 0, 3, 9);
  std::vector<torch::Tensor> results[2];
  for (int fused = 0; fused < 2; ++fused) {
    torch::Tensor a = a0.clone().requires_grad_(true);
    torch::Tensor w = torch::linspace(-1, 1, a0.numel()).view(a0.sizes());
    torch::Tensor y = fused ? dorefa_act_fake_quant(a, 0, 3) : dorefa_act_fake_quant_chain(a, 0, 3);
    auto first = torch::autograd::grad({(y * y * w).sum()}, {a}, {}, true, /*create_graph=*/true);
    ASSERT_TRUE(first[0].requires_grad());
    auto second = torch::autograd::grad({first[0].pow(2).sum()}, {a});
    results[fused] = {first[0].detach(), second[0]};
  }
  EXPECT_TRUE(same_bits(results[0][0], results[1][0]));
  EXPECT_TRUE(same_bits(results[0][1], results[1][1]));
  EXPECT_GT(results[1][1].abs().sum().item<float>(), 0.0f);  // the test sees a second derivative at all
}

TEST(DorefaFakeQuant, NanStaysNanAndOtherTensorsTakeTheChain) {
  torch::Tensor a = torch::tensor({0.4f, NAN, -0.3f, 0.7f, 2.0f}).requires_grad_(true);
  torch::Tensor b = a.detach().clone().requires_grad_(true);
  torch::Tensor ya = dorefa_act_fake_quant_chain(a, 0, 3), yb = dorefa_act_fake_quant(b, 0, 3);
  EXPECT_TRUE(torch::equal(ya.isnan(), yb.isnan()));
  EXPECT_TRUE(torch::equal(ya.nan_to_num(), yb.nan_to_num()));
  ya.sum().backward();
  yb.sum().backward();
  EXPECT_TRUE(same_bits(a.grad(), b.grad()));  // zero at the NaN, as where(mask, ., 0)
  torch::Tensor wide = dorefa_input({4, 10}, 0, 3, 7);
  torch::Tensor view = wide.slice(1, 0, 10, 2);
  EXPECT_TRUE(same_bits(dorefa_act_fake_quant(view, 0, 3), dorefa_act_fake_quant_chain(view, 0, 3)));
  torch::Tensor d = wide.to(torch::kDouble);
  EXPECT_TRUE(torch::equal(dorefa_act_fake_quant(d, 0, 3), dorefa_act_fake_quant_chain(d, 0, 3)));
}

TEST(DorefaFakeQuant, QuantizerForwardIsCodesTimesScale) {
  // The DoReFa activation module's forward (fused) against codes * scale from its quantize() (what the export
  // uses), values and gradient.
  for (bool is_signed : {false, true}) {
    auto q = make_dorefa_act(2, is_signed);
    torch::Tensor a0 = dorefa_input({4, 16, 6, 6}, is_signed ? -1 : 0, is_signed ? 1 : 3, 8)
                           .contiguous(at::MemoryFormat::ChannelsLast);
    torch::Tensor aa = a0.clone().requires_grad_(true), ab = a0.clone().requires_grad_(true);
    torch::Tensor ya = q->forward(aa);
    const Quantized parts = q->quantize(ab);
    torch::Tensor yb = parts.codes * parts.scale;
    ASSERT_TRUE(same_bits(ya, yb)) << "signed " << is_signed;
    torch::Tensor g = torch::randn(ya.sizes()).contiguous(at::MemoryFormat::ChannelsLast);
    ya.backward(g);
    yb.backward(g);
    EXPECT_TRUE(same_bits(aa.grad(), ab.grad())) << "signed " << is_signed;
  }
}

// PACT inputs around the clip range [lo, alpha]: Gaussian values, exact ties with both bounds (the exact
// zeros a ReLU gives, alpha itself, -alpha), rounding ties, zeros of both signs and far outliers.
torch::Tensor pact_input(const std::vector<int64_t>& shape, float alpha, bool is_signed, double qmax,
                         int seed) {
  torch::manual_seed(seed);
  const float magnitude = std::abs(alpha), lo = is_signed ? -magnitude : 0.0f;
  torch::Tensor a = torch::randn(shape) * (0.7f * (magnitude - lo)) + 0.5f * (magnitude + lo);
  float* p = a.data_ptr<float>();
  const int64_t n = a.numel();
  for (int64_t i = 0; i + 6 < n; i += 23) {
    const auto k = static_cast<float>((i / 23) % static_cast<int64_t>(qmax));
    p[i] = lo + (k + 0.5f) * (magnitude - lo) / static_cast<float>(qmax);
    p[i + 1] = magnitude;
    p[i + 2] = lo;
    p[i + 3] = 0.0f;
    p[i + 4] = -0.0f;
    p[i + 5] = 5 * magnitude;
    p[i + 6] = -5 * magnitude;
  }
  return a;
}

struct PactCase {
  float alpha;  // the parameter: its sign does not matter to the value, its gradient is multiplied by it
  bool is_signed;
  double qmax;
};

const std::vector<PactCase> kPactCases = {
    {1.7f, false, 3},    // 2-bit unsigned
    {-0.9f, false, 3},   // a negative parameter (|alpha| acts)
    {2.3f, true, 1},     // 2-bit signed
    {0.6f, false, 255},  // 8-bit unsigned
    {4.0f, true, 127},   // 8-bit signed
};

void expect_pact_same(const torch::Tensor& a0, const PactCase& c, const std::string& what) {
  expect_same_as_chain(
      a0, c.alpha,
      [&](const torch::Tensor& a, const torch::Tensor& alpha) {
        return pact_fake_quant_chain(a, alpha, c.is_signed, c.qmax);
      },
      [&](const torch::Tensor& a, const torch::Tensor& alpha) {
        return pact_fake_quant(a, alpha, c.is_signed, c.qmax);
      },
      what);
}

TEST(PactFakeQuant, EqualsTheChainBitForBitInEveryLayout) {
  for (const PactCase& c : kPactCases) {
    const std::string what =
        std::to_string(c.alpha) + (c.is_signed ? " signed " : " ") + std::to_string(c.qmax);
    expect_pact_same(pact_input({4, 5, 7, 9}, c.alpha, c.is_signed, c.qmax, 1), c, "NCHW " + what);
    expect_pact_same(pact_input({6, 16, 14, 14}, c.alpha, c.is_signed, c.qmax, 2)
                         .contiguous(at::MemoryFormat::ChannelsLast),
                     c, "NHWC " + what);
    expect_pact_same(pact_input({33, 64}, c.alpha, c.is_signed, c.qmax, 3), c, "2-D " + what);
  }
}

TEST(PactFakeQuant, EqualsTheChainOnOneAndTwoThreadsAndLargeTensors) {
  const int saved = at::get_num_threads();
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    for (bool is_signed : {false, true}) {
      const PactCase c{1.3f, is_signed, is_signed ? 1.0 : 3.0};
      torch::Tensor a = pact_input({32, 16, 28, 28}, c.alpha, is_signed, c.qmax, 5)
                            .contiguous(at::MemoryFormat::ChannelsLast);
      expect_pact_same(a, c, std::to_string(threads) + " threads, signed " + std::to_string(is_signed));
    }
  }
  at::set_num_threads(saved);
}

TEST(PactFakeQuant, TiesHalveTheGradientAsLibTorchsMinimumAndMaximumDo) {
  // a = 0 (the lower bound), a = alpha (the upper one): half of g to a and half to alpha; a ReLU's zeros.
  torch::Tensor a = torch::tensor({-1.0f, 0.0f, 0.5f, 2.0f, 3.0f}).requires_grad_(true);
  torch::Tensor alpha = torch::full({1}, 2.0f).requires_grad_(true);
  pact_fake_quant(a, alpha, false, 3).backward(torch::ones({5}));
  EXPECT_TRUE(torch::equal(a.grad(), torch::tensor({0.0f, 0.5f, 1.0f, 0.5f, 0.0f})));
  EXPECT_EQ(alpha.grad().item<float>(), 1.5f);
}

TEST(PactFakeQuant, GradientLayoutDifferentFromTheInput) {
  const PactCase c{1.1f, true, 1};
  torch::Tensor a0 =
      pact_input({3, 8, 5, 5}, c.alpha, true, c.qmax, 6).contiguous(at::MemoryFormat::ChannelsLast);
  torch::Tensor aa = a0.clone().requires_grad_(true), ab = a0.clone().requires_grad_(true);
  torch::Tensor la = torch::full({1}, c.alpha).requires_grad_(true),
                lb = torch::full({1}, c.alpha).requires_grad_(true);
  torch::Tensor g = torch::randn({3, 8, 5, 5});
  pact_fake_quant_chain(aa, la, true, c.qmax).backward(g);
  pact_fake_quant(ab, lb, true, c.qmax).backward(g);
  EXPECT_TRUE(same_bits(aa.grad(), ab.grad()));
  EXPECT_NEAR(la.grad().item<float>(), lb.grad().item<float>(),
              1e-4 * std::abs(la.grad().item<float>()) + 1e-6);
}

TEST(PactFakeQuant, BackwardWithCreateGraphIsDifferentiableAsTheChain) {
  for (bool is_signed : {false, true}) {
    torch::Tensor a0 = pact_input({2, 4, 5, 5}, 1.2f, is_signed, 3, 9);
    std::vector<torch::Tensor> results[2];
    for (int fused = 0; fused < 2; ++fused) {
      torch::Tensor a = a0.clone().requires_grad_(true);
      torch::Tensor alpha = torch::full({1}, 1.2f).requires_grad_(true);
      torch::Tensor w = torch::linspace(-1, 1, a0.numel()).view(a0.sizes());
      torch::Tensor y =
          fused ? pact_fake_quant(a, alpha, is_signed, 3) : pact_fake_quant_chain(a, alpha, is_signed, 3);
      auto first = torch::autograd::grad({(y * y * w).sum()}, {a, alpha}, {}, true, /*create_graph=*/true);
      ASSERT_TRUE(first[0].requires_grad());
      torch::Tensor penalty = first[0].pow(2).sum() + first[1].pow(2).sum();
      auto second = torch::autograd::grad({penalty}, {a, alpha}, {}, false, false, /*allow_unused=*/true);
      results[fused] = {first[0].detach(), first[1].detach(), second[0], second[1]};
    }
    for (int k = 0; k < 2; ++k) EXPECT_TRUE(same_bits(results[0][k], results[1][k])) << k;
    for (int k = 2; k < 4; ++k) {
      ASSERT_EQ(results[0][k].defined(), results[1][k].defined()) << k;
      if (results[0][k].defined()) {
        EXPECT_TRUE(torch::allclose(results[0][k], results[1][k], 1e-5, 1e-6)) << k;
      }
    }
  }
}

TEST(PactFakeQuant, NanStaysNanAndOtherTensorsTakeTheChain) {
  torch::Tensor a = torch::tensor({0.4f, NAN, -0.3f, 0.7f, 2.0f}).requires_grad_(true);
  torch::Tensor b = a.detach().clone().requires_grad_(true);
  torch::Tensor la = torch::full({1}, 1.5f).requires_grad_(true),
                lb = torch::full({1}, 1.5f).requires_grad_(true);
  torch::Tensor ya = pact_fake_quant_chain(a, la, true, 1), yb = pact_fake_quant(b, lb, true, 1);
  EXPECT_TRUE(torch::equal(ya.isnan(), yb.isnan()));
  EXPECT_TRUE(torch::equal(ya.nan_to_num(), yb.nan_to_num()));
  ya.sum().backward();
  yb.sum().backward();
  EXPECT_TRUE(same_bits(a.grad(), b.grad()));
  EXPECT_TRUE(same_bits(la.grad(), lb.grad()));
  const torch::Tensor alpha = torch::full({1}, 0.8f);
  torch::Tensor wide = pact_input({4, 10}, 0.8f, false, 3, 7);
  torch::Tensor view = wide.slice(1, 0, 10, 2);
  EXPECT_TRUE(
      same_bits(pact_fake_quant(view, alpha, false, 3), pact_fake_quant_chain(view, alpha, false, 3)));
  torch::Tensor d = wide.to(torch::kDouble);
  EXPECT_TRUE(torch::equal(pact_fake_quant(d, alpha.to(torch::kDouble), false, 3),
                           pact_fake_quant_chain(d, alpha.to(torch::kDouble), false, 3)));
}

TEST(PactFakeQuant, QuantizerForwardIsCodesTimesScaleWithTheSameAlphaGradient) {
  for (bool is_signed : {false, true}) {
    auto fused = make_pact_act(2, is_signed);
    auto chain = make_pact_act(2, is_signed);
    {
      torch::NoGradGuard no_grad;  // a clip inside the data's range, so that both bounds are reached
      fused->named_parameters()["alpha"].fill_(1.4f);
      chain->named_parameters()["alpha"].fill_(1.4f);
    }
    torch::Tensor a0 = pact_input({4, 16, 6, 6}, 1.4f, is_signed, is_signed ? 1 : 3, 8)
                           .contiguous(at::MemoryFormat::ChannelsLast);
    torch::Tensor aa = a0.clone().requires_grad_(true), ab = a0.clone().requires_grad_(true);
    torch::Tensor ya = fused->forward(aa);
    torch::Tensor yb =
        pact_fake_quant_chain(ab, chain->named_parameters()["alpha"], is_signed, is_signed ? 1 : 3);
    const Quantized parts = chain->quantize(ab);
    ASSERT_TRUE(same_bits(ya, parts.codes * parts.scale)) << "signed " << is_signed;
    torch::Tensor g = torch::randn(ya.sizes()).contiguous(at::MemoryFormat::ChannelsLast);
    ya.backward(g);
    yb.backward(g);
    EXPECT_TRUE(same_bits(aa.grad(), ab.grad())) << "signed " << is_signed;
    EXPECT_TRUE(
        same_bits(fused->named_parameters()["alpha"].grad(), chain->named_parameters()["alpha"].grad()))
        << "signed " << is_signed;
  }
}

}  // namespace
}  // namespace r2q::quant
