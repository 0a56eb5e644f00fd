// Quantizers: golden 2-bit values computed by hand from the formulas of docs/METHOD.md, level sets, straight-
// through masks, learnable-scale gradients against finite differences of each estimator's surrogate, the
// integer export contract (exact round trip, bit-planes) and the reference shift-add dot product.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <set>

#include "core/quant/export.h"
#include "core/quant/layers.h"
#include "core/quant/methods/methods.h"
#include "core/quant/registry.h"
#include "core/quant/shift_add.h"

namespace r2q::quant {
namespace {

torch::Tensor t(std::initializer_list<float> values) {
  return torch::tensor(std::vector<float>(values));
}

// Sets a learnable scale by name and marks the quantizer initialised, so golden values do not depend on the
// data-driven initialisation.
void set(Quantizer& q, const std::string& name, torch::Tensor value) {
  torch::NoGradGuard g;
  q.named_parameters()[name].copy_(value);
  if (auto* flag = q.named_buffers().find("initialized")) flag->fill_(1);
}

void expect_values(const torch::Tensor& actual, std::initializer_list<float> expected, double tol = 1e-6) {
  auto e = t(expected).view_as(actual);
  EXPECT_TRUE(torch::allclose(actual.detach(), e, 0, tol)) << "actual:\n" << actual << "\nexpected:\n" << e;
}

// ---- golden values (2 bits) ----

TEST(Golden, R2qWeightsAreOddCodesTimesHalfAlpha) {
  auto q = make_r2q_weight(2, 1, 5);
  set(*q, "alpha", t({0.4f}));
  // v = w / alpha * 2 = [0.5, -1.5, 1.25, 4.5, -5] -> clamp to [-3, 3] -> nearest odd [1, -1, 1, 3, -3].
  auto w = t({0.1f, -0.3f, 0.25f, 0.9f, -1.0f}).view({1, 5});
  expect_values(q->quantize(w).codes, {1, -1, 1, 3, -3});
  expect_values(q->forward(w), {0.2f, -0.2f, 0.2f, 0.6f, -0.6f});
}

TEST(Golden, R2qAlphaInitialisedFromTheWeights) {
  auto q = make_r2q_weight(2, 2, 2);
  auto w = t({0.3f, -0.9f, 0.1f, 0.1f}).view({2, 2});
  q->forward(w);
  // alpha_c = 2 mean|w_c| 2^(k-1) / (2^k - 1) = mean|w_c| * 4/3.
  expect_values(q->named_parameters()["alpha"], {0.6f * 4 / 3, 0.1f * 4 / 3});
}

TEST(Golden, LsqWeightsAndActivations) {
  auto w = make_lsq_weight(2, 5);
  set(*w, "step", t({0.5f}));
  // Qn = 2, Qp = 1: v/s = [0.2, -0.6, 0.6, 1.8, -4] -> clamp [-2, 1] -> round [0, -1, 1, 1, -2].
  expect_values(w->forward(t({0.1f, -0.3f, 0.3f, 0.9f, -2.0f})), {0, -0.5f, 0.5f, 0.5f, -1.0f});
  auto a = make_lsq_act(2, false);
  set(*a, "step", t({0.5f}));
  // Qp = 3: [-2, 0.4, 0.5, 1.48, 1.52, 10] -> clamp [0, 3] -> round half away from zero [0, 0, 1, 1, 2, 3].
  expect_values(a->forward(t({-1.0f, 0.2f, 0.25f, 0.74f, 0.76f, 5.0f})), {0, 0, 0.5f, 0.5f, 1.0f, 1.5f});
}

TEST(Golden, LsqStepInitialisedAsTwiceMeanAbsOverRootQp) {
  auto a = make_lsq_act(2, false);
  a->forward(t({1.0f, 2.0f, 3.0f}));
  expect_values(a->named_parameters()["step"], {static_cast<float>(2 * 2.0 / std::sqrt(3.0))});
}

TEST(Golden, DorefaWeightsActivationsAndOneBit) {
  // tanh -> /(2 max|tanh|) + 0.5 -> x3 = [2.410, 1.111, 1.5, 3] -> round [2, 1, 2, 3] -> (2c - 3) / 3.
  auto w = t({0.5f, -0.2f, 0.0f, 1.0f});
  expect_values(make_dorefa_weight(2)->forward(w), {1.0f / 3, -1.0f / 3, 1.0f / 3, 1.0f});
  // 1 bit: sign(w) * mean|w| (sign(0) = +1), mean|w| = 0.425.
  expect_values(make_dorefa_weight(1)->forward(w), {0.425f, -0.425f, 0.425f, 0.425f});
  // clip(a, 0, 1) x3 = [0, 0.3, 0.6, 1.5, 2.7, 3] -> round [0, 0, 1, 2, 3, 3] -> /3.
  expect_values(make_dorefa_act(2, false)->forward(t({-0.5f, 0.1f, 0.2f, 0.5f, 0.9f, 1.7f})),
                {0, 0, 1.0f / 3, 2.0f / 3, 1, 1});
}

TEST(Golden, PactActivations) {
  auto a = make_pact_act(2, false);
  set(*a, "alpha", t({2.0f}));
  // clip(a, 0, 2) x 3/2 = [0, 0.45, 0.6, 1.5, 2.85, 3] -> round [0, 0, 1, 2, 3, 3] -> x 2/3.
  expect_values(a->forward(t({-1.0f, 0.3f, 0.4f, 1.0f, 1.9f, 3.0f})), {0, 0, 2.0f / 3, 4.0f / 3, 2, 2});
  EXPECT_FLOAT_EQ(make_pact_act(2, false)->named_parameters()["alpha"].item<float>(), 10.0f);  // paper's init
}

TEST(Golden, ApotLevelSetsMatchTheReferenceCode) {
  // build_power_value(B): B = 2 -> {0, 1/4, 1/2, 1}; B = 3 -> {0, .1, .2, .3, .4, .6, .8, 1}; B = 4: 16
  // levels in 48ths.
  EXPECT_EQ(apot_levels(2), (std::vector<int64_t>{0, 1, 2, 4}));
  EXPECT_EQ(apot_levels(3), (std::vector<int64_t>{0, 1, 2, 3, 4, 6, 8, 10}));
  EXPECT_EQ(apot_levels(4), (std::vector<int64_t>{0, 1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 33, 36, 48}));
  EXPECT_EQ(apot_levels(5).size(), 32u);
  EXPECT_EQ(apot_levels(6).size(), 64u);
}

TEST(Golden, ApotActivationsAndTernaryWeights) {
  auto a = make_apot_act(2, false);
  set(*a, "alpha", t({2.0f}));
  // a / 2 clipped to [0, 1], x4 = [0, .4, .6, 1.6, 2.4, 3.2, 4] -> nearest of {0, 1, 2, 4}: [0, 0, 1, 2, 2,
  // 4, 4].
  expect_values(a->forward(t({-1.0f, 0.2f, 0.3f, 0.8f, 1.2f, 1.6f, 3.0f})), {0, 0, 0.5f, 1, 1, 2, 2});
  EXPECT_FLOAT_EQ(make_apot_act(2, false)->named_parameters()["alpha"].item<float>(), 8.0f);
  auto w = make_apot_weight(2);
  set(*w, "alpha", t({1.0f}));
  // Standardised: [-1.5, -0.5, 0.5, 1.5] / 1.29099 = [-1.16, -0.39, 0.39, 1.16] -> ternary [-1, 0, 0, 1].
  expect_values(w->forward(t({-1.5f, -0.5f, 0.5f, 1.5f})), {-1, 0, 0, 1});
}

TEST(Golden, LqNetNearestLevelOfALearnedBasis) {
  auto w = make_lqnet_weight(2, 1, 9);
  w->eval();  // no basis update
  {
    torch::NoGradGuard g;
    w->named_buffers()["basis"].copy_(t({0.1f, 0.2f}).view({1, 2}));
  }
  // Levels v . e, e in {-1, +1}^2: {-0.3, -0.1, 0.1, 0.3}.
  expect_values(w->forward(t({0.05f, -0.25f, 0.12f, 1.0f}).view({1, 4})), {0.1f, -0.3f, 0.1f, 0.3f});
  auto a = make_lqnet_act(2, false);
  a->eval();
  {
    torch::NoGradGuard g;
    a->named_buffers()["basis"].copy_(t({0.5f, 1.0f}).view({1, 2}));
  }
  // Levels v . e, e in {0, 1}^2: {0, 0.5, 1, 1.5}.
  expect_values(a->forward(t({-0.2f, 0.2f, 0.3f, 0.9f, 4.0f})), {0, 0, 0.5f, 1, 1.5f});
}

TEST(Golden, LqNetInitialBasisAndLeastSquaresUpdate) {
  auto w = make_lqnet_weight(2, 1, 8);
  // base = 0.6745 sqrt(2 / fan_out) / 2^(K-1), v = (base, 2 base).
  double base = 0.6745 * std::sqrt(2.0 / 8) / 2;
  expect_values(w->named_buffers()["basis"], {static_cast<float>(base), static_cast<float>(2 * base)}, 1e-6);
  // Weights exactly on the lattice {-3, -1, 1, 3} x 0.15 (each nearest to its own initial level): QEM + the
  // moving average converge to v = (0.15, 0.3), and the weights are then represented exactly.
  auto x = (t({-3, -1, 1, 3, 3, 1, -1, -3, 1, 1}) * 0.15f).view({1, 10});
  w->train();
  for (int i = 0; i < 200; ++i) w->forward(x);
  expect_values(w->named_buffers()["basis"], {0.15f, 0.3f}, 1e-4);
  EXPECT_TRUE(torch::allclose(w->forward(x), x, 0, 1e-4));
}

TEST(Golden, XnorConvolutionIsScaledByAlphaAndK) {
  LayerFactory f(QuantConfig{"xnor", 1, 1, 8});
  auto conv = f.conv({.in = 1, .out = 1, .kernel = 1});
  {
    torch::NoGradGuard g;
    conv->weight.fill_(0.4f);
  }
  // With a 1x1 kernel K = |x| and alpha = 0.4, so sign(x) * sign(w) * alpha * K = 0.4 x exactly.
  auto x = t({-1.0f, 2.0f, 0.5f, -0.5f}).view({1, 1, 2, 2});
  EXPECT_TRUE(torch::allclose(conv(x), 0.4f * x));
  auto w = make_xnor_weight();
  // Per output channel: alpha = mean|w_c|.
  expect_values(w->forward(t({0.5f, -0.2f, 0.1f, 0.3f}).view({2, 2})), {0.35f, -0.35f, 0.2f, 0.2f});
}

// ---- level sets ----

TEST(Levels, R2qTwoBitWeightsOfAChannelTakeOnlyFourValues) {
  torch::manual_seed(0);
  auto q = make_r2q_weight(2, 3, 200);
  auto w = torch::randn({3, 200});
  auto wq = q->forward(w).detach();
  auto alpha = q->named_parameters()["alpha"].detach().view({3, 1});
  // Up to float rounding of the division.
  auto ratio = ((wq / alpha) * 1e4).round().flatten() / 1e4;
  std::set<float> values(ratio.data_ptr<float>(), ratio.data_ptr<float>() + ratio.numel());
  EXPECT_EQ(values, (std::set<float>{-1.5f, -0.5f, 0.5f, 1.5f}));
}

TEST(Levels, BitWidthsDecideTheNumberOfCodes) {
  for (int bits = 1; bits <= 4; ++bits) {
    auto q = make_r2q_weight(bits, 1, 1000);
    auto codes = q->quantize(torch::linspace(-5, 5, 1000).view({1, 1000})).codes;
    EXPECT_EQ(std::get<0>(at::_unique(codes)).numel(), int64_t{1} << bits) << bits;
    EXPECT_EQ(q->max_code(), (int64_t{1} << bits) - 1);
  }
}

// ---- straight-through masks ----

torch::Tensor input_grad(Quantizer& q, const torch::Tensor& x) {
  auto input = x.clone().requires_grad_(true);
  q.forward(input).sum().backward();
  return input.grad();
}

TEST(SteMasks, GradientsPassInsideTheClipRangeOnly) {
  auto r2q = make_r2q_weight(2, 1, 3);
  set(*r2q, "alpha", t({0.4f}));
  // |v| = |w| / 0.4 * 2 <= 3 inside: 0.1 and -0.5 are inside, 0.7 and -0.9 outside.
  expect_values(input_grad(*r2q, t({0.1f, -0.5f, 0.7f, -0.9f}).view({1, 4})), {1, 1, 0, 0});
  auto lsq = make_lsq_act(2, false);
  set(*lsq, "step", t({0.5f}));
  expect_values(input_grad(*lsq, t({-0.1f, 0.3f, 1.4f, 1.6f})), {0, 1, 1, 0});
  auto pact = make_pact_act(2, false);
  set(*pact, "alpha", t({1.0f}));
  expect_values(input_grad(*pact, t({-0.5f, 0.5f, 1.5f})), {0, 1, 0});
  expect_values(input_grad(*make_dorefa_act(2, false), t({-0.5f, 0.5f, 1.5f})), {0, 1, 0});
  // XNOR-Net's weight gradient 1/n + alpha 1{|w| <= 1} (one weight per channel: n = 1, alpha = |w|).
  expect_values(input_grad(*make_xnor_weight(), t({0.5f, -2.0f}).view({2, 1})), {1.5f, 1});
  // LQ-Nets activations: gradient below the largest level only.
  auto lq = make_lqnet_act(2, false);
  lq->eval();
  expect_values(input_grad(*lq, t({0.1f, 100.0f})), {1, 0});
}

// ---- learnable-scale gradients against finite differences ----
//
// A straight-through estimator is the exact derivative of a surrogate function: the quantizer with its
// rounding error frozen at the evaluation point (round(u) -> u + (round(u0) - u0)). The tests compute that
// surrogate in double precision, independently of the implementation, differentiate it by central
// differences, and compare with the gradient autograd gives for the learnable parameter (times LSQ's gradient
// scale where applicable).

double central_difference(const std::function<double(double)>& f, double x, double h = 1e-6) {
  return (f(x + h) - f(x - h)) / (2 * h);
}

double round_half_away(double u) {
  return u < 0 ? -std::floor(-u + 0.5) : std::floor(u + 0.5);
}

TEST(ScaleGradients, R2qAlphaMatchesTheSurrogateDerivative) {
  std::vector<double> w = {0.11, -0.33, 0.27, 0.9, -1.0, 0.05};
  const double alpha0 = 0.4, half = 2, qmax = 3;
  auto q = make_r2q_weight(2, 1, static_cast<int64_t>(w.size()));
  set(*q, "alpha", t({static_cast<float>(alpha0)}));
  auto wt = torch::tensor(w, torch::kFloat32).view({1, -1});
  q->forward(wt).sum().backward();
  double autograd = q->named_parameters()["alpha"].grad().item<double>();

  std::vector<double> frozen;  // m(alpha0) - clamp(v(alpha0))
  for (double x : w) {
    double v = std::clamp(x / alpha0 * half, -qmax, qmax);
    frozen.push_back(std::clamp(2 * std::floor(v / 2) + 1, -qmax, qmax) - v);
  }
  auto surrogate = [&](double alpha) {
    double sum = 0;
    for (size_t i = 0; i < w.size(); ++i)
      sum += (std::clamp(w[i] / alpha * half, -qmax, qmax) + frozen[i]) * alpha / half;
    return sum;
  };
  double g = 1 / std::sqrt(static_cast<double>(w.size()) * qmax);
  EXPECT_NEAR(autograd, g * central_difference(surrogate, alpha0), 1e-4);
}

// Issue 15: SGD carried an 8-bit LSQ layer's step through zero to -0.55 and the layer's codes collapsed to
// {-2..1}. A learned scale acts by its magnitude: a negative parameter quantizes as its positive twin,
// exports a positive scale, and its gradient pushes the magnitude the way LSQ pushes a positive step.
TEST(LearnedScales, ANegativeParameterActsAsItsMagnitude) {
  const auto x = t({-0.4f, 0.13f, 0.52f, 0.77f, 1.21f, 3.0f});
  for (bool is_signed : {false, true}) {
    auto positive = make_lsq_act(8, is_signed), negative = make_lsq_act(8, is_signed);
    set(*positive, "step", t({0.05f}));
    set(*negative, "step", t({-0.05f}));
    auto p = positive->quantize(x), n = negative->quantize(x);
    EXPECT_TRUE(torch::equal(p.codes, n.codes)) << n.codes;
    EXPECT_TRUE(torch::equal(p.scale, n.scale)) << n.scale;
    EXPECT_GT(negative->activation_scale().item<double>(), 0);
    positive->forward(x).sum().backward();
    negative->forward(x).sum().backward();
    EXPECT_FLOAT_EQ(negative->named_parameters()["step"].grad().item<float>(),
                    -positive->named_parameters()["step"].grad().item<float>());
  }
  auto w = make_lsq_weight(8, 6);
  set(*w, "step", t({-0.01f}));
  EXPECT_GT(w->quantize(x).scale.item<double>(), 0);
  auto r = make_r2q_weight(2, 1, 5);
  set(*r, "alpha", t({-0.4f}));
  const auto weights = t({0.1f, -0.3f, 0.25f, 0.9f, -1.0f}).view({1, 5});
  expect_values(r->quantize(weights).codes, {1, -1, 1, 3, -3});  // as with alpha = 0.4 (Golden above)
  expect_values(r->forward(weights), {0.2f, -0.2f, 0.2f, 0.6f, -0.6f});
}

TEST(ScaleGradients, LsqStepMatchesTheSurrogateDerivative) {
  std::vector<double> x = {-0.4, 0.13, 0.52, 0.77, 1.21, 3.0, 0.0};
  const double s0 = 0.31, qp = 3;
  auto q = make_lsq_act(2, false);
  set(*q, "step", t({static_cast<float>(s0)}));
  q->forward(torch::tensor(x, torch::kFloat32)).sum().backward();
  double autograd = q->named_parameters()["step"].grad().item<double>();
  std::vector<double> frozen;
  for (double v : x) {
    double c = std::clamp(v / s0, 0.0, qp);
    frozen.push_back(round_half_away(c) - c);
  }
  auto surrogate = [&](double s) {
    double sum = 0;
    for (size_t i = 0; i < x.size(); ++i) sum += (std::clamp(x[i] / s, 0.0, qp) + frozen[i]) * s;
    return sum;
  };
  double g = 1 / std::sqrt(static_cast<double>(x.size()) * qp);
  EXPECT_NEAR(autograd, g * central_difference(surrogate, s0), 1e-4);
}

TEST(ScaleGradients, PactAlphaIsTheCountOfClippedInputs) {
  std::vector<double> x = {-0.4, 0.13, 0.52, 1.3, 2.0, 7.0};
  const double a0 = 1.1;
  auto q = make_pact_act(2, false);
  set(*q, "alpha", t({static_cast<float>(a0)}));
  q->forward(torch::tensor(x, torch::kFloat32)).sum().backward();
  double autograd = q->named_parameters()["alpha"].grad().item<double>();
  // PACT's surrogate is the clip itself: d/dalpha sum clip(x, 0, alpha) = #{x >= alpha} = 3.
  auto surrogate = [&](double a) {
    double sum = 0;
    for (double v : x) sum += std::clamp(v, 0.0, a);
    return sum;
  };
  EXPECT_NEAR(autograd, central_difference(surrogate, a0), 1e-4);
  EXPECT_NEAR(autograd, 3.0, 1e-6);
}

TEST(ScaleGradients, ApotAlphaIsTheReparameterisedClippingGradient) {
  std::vector<double> x = {0.1, 0.45, 0.9, 1.7, 2.5, 4.0};
  const double a0 = 2.0;
  auto q = make_apot_act(2, false);
  set(*q, "alpha", t({static_cast<float>(a0)}));
  q->forward(torch::tensor(x, torch::kFloat32)).sum().backward();
  double autograd = q->named_parameters()["alpha"].grad().item<double>();
  // RCF: (q - x/alpha) inside the clip range, 1 outside; q the APoT level of x/alpha in {0, 1/4, 1/2, 1}.
  double expected = 0;
  for (double v : x) {
    double u = v / a0;
    if (u >= 1) {
      expected += 1;
      continue;
    }
    double best = 0;
    for (double level : {0.0, 0.25, 0.5, 1.0})
      if (std::abs(level - u) < std::abs(best - u)) best = level;
    expected += best - u;
  }
  EXPECT_NEAR(autograd, expected, 1e-5);
}

// ---- the integer export contract ----

class ExportContract : public ::testing::TestWithParam<std::string> {};

TEST_P(ExportContract, CodesTimesScalesReproduceTheFakeQuantisedLayerExactly) {
  torch::manual_seed(1);
  const std::string method = GetParam();
  LayerFactory f(QuantConfig{method, 2, 2, 8});
  auto conv = f.conv({.in = 8, .out = 4, .kernel = 3, .padding = 1});
  auto x = torch::relu(torch::randn({2, 8, 6, 6}));
  conv(x);  // data-driven initialisation
  torch::NoGradGuard g;

  auto w = export_weights(conv->weight, conv->weight_quantizer());
  ASSERT_TRUE(w.has_value());
  auto fake_w = conv->weight_quantizer()->forward(conv->weight);
  EXPECT_TRUE(torch::equal(w->codes.to(torch::kFloat32) * w->scale.view({-1, 1, 1, 1}), fake_w));
  EXPECT_GE(w->codes.min().item<int64_t>(), w->min_code);
  EXPECT_LE(w->codes.max().item<int64_t>(), w->max_code);

  auto a = export_activations(conv->input_quantizer());
  ASSERT_TRUE(a.has_value());
  auto codes = activation_codes(x, conv->input_quantizer());
  auto fake_x = conv->input_quantizer()->forward(x);
  EXPECT_TRUE(torch::equal(codes.to(torch::kFloat32) * static_cast<float>(a->scale), fake_x));

  // The layer is an integer convolution rescaled per output channel.
  auto accumulators = torch::conv2d(codes.to(torch::kFloat64), w->codes.to(torch::kFloat64), {}, 1, 1);
  EXPECT_TRUE(torch::equal(accumulators, accumulators.round()));
  auto rescaled = accumulators * (w->scale.to(torch::kFloat64) * a->scale).view({1, -1, 1, 1});
  EXPECT_TRUE(torch::allclose(rescaled.to(torch::kFloat32), conv(x), 1e-5, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(UniformGridMethods, ExportContract,
                         ::testing::Values("r2q", "dorefa", "pact", "lsq", "apot"));

TEST(Export, NoIntegerFormForLearnedBasesOrInputDependentScales) {
  LayerFactory lq(QuantConfig{"lqnet", 2, 2, 8});
  auto conv = lq.conv({.in = 2, .out = 2, .kernel = 1});
  EXPECT_FALSE(export_weights(conv->weight, conv->weight_quantizer()).has_value());
  LayerFactory xnor(QuantConfig{"xnor", 1, 1, 8});
  EXPECT_FALSE(
      export_activations(xnor.conv({.in = 2, .out = 2, .kernel = 1})->input_quantizer()).has_value());
  LayerFactory fp(QuantConfig{"fp32", 32, 32, 32});
  EXPECT_EQ(fp.conv({.in = 2, .out = 2, .kernel = 1})->weight_quantizer(), nullptr);
}

TEST(Export, BitPlanesSumToTheOddCodes) {
  for (int bits = 1; bits <= 4; ++bits) {
    int qmax = (1 << bits) - 1;
    auto codes = torch::arange(-qmax, qmax + 1, 2, torch::kInt32).view({1, -1});
    auto planes = odd_code_bitplanes(codes, bits);
    ASSERT_EQ(planes.size(0), bits);
    auto sum = torch::zeros_like(codes);
    for (int i = 0; i < bits; ++i) sum += planes[i].to(torch::kInt32) * (1 << i);
    EXPECT_TRUE(torch::equal(sum, codes)) << bits;
    EXPECT_TRUE(torch::equal(planes.abs(), torch::ones_like(planes)));
  }
  LayerFactory f(QuantConfig{"r2q", 2, 2, 8});
  auto conv = f.conv({.in = 3, .out = 2, .kernel = 3});
  auto w = export_weights(conv->weight, conv->weight_quantizer());
  ASSERT_TRUE(w->bitplanes.has_value());
  EXPECT_EQ(w->bits, 2);
  EXPECT_TRUE(torch::equal((*w->bitplanes)[0].to(torch::kInt32) + 2 * (*w->bitplanes)[1].to(torch::kInt32),
                           w->codes));
}

TEST(Export, FirstAndLastLayersAreUniformEightBit) {
  LayerFactory f(QuantConfig{"r2q", 2, 2, 8});
  auto first = f.conv({.in = 3, .out = 4, .kernel = 3, .role = Role::First});
  EXPECT_EQ(first->input_quantizer(), nullptr);  // the image is already 8-bit data
  EXPECT_EQ(first->weight_quantizer()->min_code(), -128);
  EXPECT_EQ(first->weight_quantizer()->max_code(), 127);
  auto last = f.linear({.in = 4, .out = 2, .role = Role::Last});
  EXPECT_EQ(last->input_quantizer()->max_code(), 255);
  LayerFactory full(QuantConfig{"r2q", 2, 2, 32});
  EXPECT_EQ(full.conv({.in = 3, .out = 4, .kernel = 3, .role = Role::First})->weight_quantizer(), nullptr);
}

// ---- the reference shift-add dot product ----

TEST(ShiftAdd, EqualsThePlainIntegerDotProductForManyLengthsAndBitWidths) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    size_t n = 1 + rng() % 700;
    int k = 1 + static_cast<int>(rng() % 4), l = 1 + static_cast<int>(rng() % 8);
    int qmax = (1 << k) - 1;
    std::vector<int32_t> m(n), a(n);
    int64_t expected = 0;
    for (size_t j = 0; j < n; ++j) {
      m[j] = -qmax + 2 * static_cast<int32_t>(rng() % (static_cast<uint32_t>(qmax) + 1));
      a[j] = static_cast<int32_t>(rng() % (1u << l));
      expected += int64_t{m[j]} * a[j];
    }
    auto got = shift_add_dot(pack_odd_codes(m.data(), n, k), pack_unsigned_codes(a.data(), n, l));
    ASSERT_EQ(got, expected) << "n " << n << " k " << k << " l " << l;
  }
}

TEST(ShiftAdd, RejectsCodesOutsideTheGrid) {
  int32_t even[] = {2}, big[] = {5}, negative[] = {-1};
  EXPECT_THROW(pack_odd_codes(even, 1, 2), std::invalid_argument);
  EXPECT_THROW(pack_odd_codes(big, 1, 2), std::invalid_argument);
  EXPECT_THROW(pack_unsigned_codes(negative, 1, 2), std::invalid_argument);
}

}  // namespace
}  // namespace r2q::quant
