// Loss terms on hand-computable inputs, their gradients against finite differences, power iteration against
// SVD, the Lipschitz bound of a spectrally normalised critic, and the objective's bookkeeping.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "core/util/error.h"
#include "losses/critic.h"
#include "losses/functional.h"
#include "losses/objective.h"
#include "models/registry.h"

namespace r2q::losses {
namespace {

double value(const torch::Tensor& t) {
  return t.item<double>();
}

TEST(Kd, IsZeroForEqualLogitsAndMatchesTheFormula) {
  auto s = torch::tensor({{0.0, 0.0}}, torch::kFloat64);
  EXPECT_NEAR(value(kd_loss(s, s, 4.0)), 0.0, 1e-12);
  // Teacher logits (ln 3, 0): softmax (3/4, 1/4) at T = 1, against the student's (1/2, 1/2).
  auto t = torch::tensor({{std::log(3.0), 0.0}}, torch::kFloat64);
  const double kl1 = 0.75 * std::log(0.75 / 0.5) + 0.25 * std::log(0.25 / 0.5);
  EXPECT_NEAR(value(kd_loss(s, t, 1.0)), kl1, 1e-12);
  // At T = 2 the teacher's softmax is (sqrt3, 1) / (sqrt3 + 1), and the loss is scaled by T^2.
  const double q = std::sqrt(3.0) / (std::sqrt(3.0) + 1);
  const double kl2 = q * std::log(q / 0.5) + (1 - q) * std::log((1 - q) / 0.5);
  EXPECT_NEAR(value(kd_loss(s, t, 2.0)), 4 * kl2, 1e-12);
  // Batch mean: two identical rows give the same value.
  EXPECT_NEAR(value(kd_loss(s.repeat({2, 1}), t.repeat({2, 1}), 1.0)), kl1, 1e-12);
}

TEST(RkdDistance, MatchesAHandComputedExample) {
  // Teacher points 0, 1, 2 (distances 1, 2, 1; mean over ordered pairs 4/3): normalised 0.75, 1.5, 0.75.
  // Student points 0, 1, 3 (distances 1, 3, 2; mean 2): normalised 0.5, 1.5, 1.0. Differences -0.25, 0,
  // 0.25 on the pairs (0,1), (0,2), (1,2), each counted twice in the 3x3 matrix; Huber 0.5 d^2 below 1.
  auto teacher = torch::tensor({{0.0}, {1.0}, {2.0}}, torch::kFloat64);
  auto student = torch::tensor({{0.0}, {1.0}, {3.0}}, torch::kFloat64);
  EXPECT_NEAR(value(rkd_distance(student, teacher)), 4 * 0.5 * 0.0625 / 9, 1e-9);
  // Invariant to scale and translation of either side.
  EXPECT_NEAR(value(rkd_distance(teacher * 5 + 2, teacher)), 0.0, 1e-9);
}

TEST(RkdAngle, IsInvariantToRotationScaleAndShiftButNotToShape) {
  torch::manual_seed(0);
  auto t = torch::randn({6, 2}, torch::kFloat64);
  const double c = std::cos(0.7), s = std::sin(0.7);
  auto rotation = torch::tensor({{c, -s}, {s, c}}, torch::kFloat64);
  EXPECT_NEAR(value(rkd_angle(3 * t.mm(rotation) + 1, t)), 0.0, 1e-9);
  EXPECT_GT(value(rkd_angle(torch::randn({6, 2}, torch::kFloat64), t)), 1e-3);
  // A right isosceles triangle against an equilateral one: the cosines at each vertex differ by hand.
  auto right = torch::tensor({{0.0, 0.0}, {1.0, 0.0}, {0.0, 1.0}}, torch::kFloat64);
  auto equilateral = torch::tensor({{0.0, 0.0}, {1.0, 0.0}, {0.5, std::sqrt(0.75)}}, torch::kFloat64);
  // Per vertex j the 3x3 matrix of cosines between e_i - e_j: 1 on its two non-zero diagonal entries, the
  // vertex angle's cosine twice off the diagonal. Right triangle cosines: 0, 1/sqrt2, 1/sqrt2; equilateral:
  // 1/2 each.
  const double r = 1 / std::sqrt(2.0);
  const double d0 = 0.5, d1 = r - 0.5;
  const double expected = (2 * 0.5 * d0 * d0 + 2 * 2 * 0.5 * d1 * d1) / 27;
  EXPECT_NEAR(value(rkd_angle(right, equilateral)), expected, 1e-9);
}

TEST(SpectralNorm, PowerIterationMatchesSvd) {
  torch::manual_seed(1);
  auto w = torch::randn({20, 30}, torch::kFloat64);
  auto u = torch::nn::functional::normalize(torch::randn({20}, torch::kFloat64),
                                            torch::nn::functional::NormalizeFuncOptions().dim(0));
  const double truth = torch::linalg_svdvals(w)[0].item<double>();
  // The vector persists: 1 iteration per call converges just like many iterations in one call.
  double sigma = 0;
  for (int i = 0; i < 300; ++i) sigma = value(spectral_norm(w, u, 1));
  EXPECT_LT(std::abs(sigma - truth) / truth, 1e-3);
  // Its gradient is u v^T, the gradient of the top singular value.
  auto wg = w.clone().requires_grad_(true);
  spectral_norm(wg, u, 1).backward();
  auto svd = torch::linalg_svd(w, false);
  auto top = torch::outer(std::get<0>(svd).select(1, 0), std::get<2>(svd).select(0, 0));
  EXPECT_TRUE(torch::allclose(wg.grad().abs(), top.abs(), 1e-3, 1e-3));
}

TEST(GradientPenalty, IsExactForALinearCriticAndItsGradientMatchesFiniteDifferences) {
  torch::manual_seed(4);
  auto real = torch::randn({8, 3}, torch::kFloat64), fake = torch::randn({8, 3}, torch::kFloat64);
  // A linear critic has gradient w everywhere: the penalty is (|w| - 1)^2.
  auto w = torch::tensor({3.0, 0.0, 4.0}, torch::kFloat64);
  EXPECT_NEAR(value(gradient_penalty([&](const torch::Tensor& x) { return x.mv(w); }, real, fake)), 16.0,
              1e-9);

  // A nonlinear critic: d penalty / d W by autograd against central differences (same interpolation points).
  auto weights = torch::randn({3, 4}, torch::kFloat64).requires_grad_(true);
  auto penalty = [&](const torch::Tensor& wt) {
    torch::manual_seed(11);
    return gradient_penalty([&](const torch::Tensor& x) { return torch::tanh(x.mm(wt)).sum(1); }, real, fake);
  };
  auto grad = torch::autograd::grad({penalty(weights)}, {weights})[0];
  const double h = 1e-6;
  for (int64_t i = 0; i < weights.numel(); ++i) {
    auto plus = weights.detach().clone(), minus = weights.detach().clone();
    plus.view(-1)[i] += h;
    minus.view(-1)[i] -= h;
    const double numeric = (value(penalty(plus)) - value(penalty(minus))) / (2 * h);
    EXPECT_NEAR(grad.view(-1)[i].item<double>(), numeric, 1e-5) << "weight " << i;
  }
}

TEST(Critic, SpectrallyNormalisedCriticIsOneLipschitz) {
  torch::manual_seed(2);
  Critic critic(16, 32, /*spectral_norm=*/true, /*power_iterations=*/1);
  // Large weights: without the normalisation the critic would be far from 1-Lipschitz.
  {
    torch::NoGradGuard g;
    for (auto& p : critic->parameters()) p.mul_(10);
  }
  torch::NoGradGuard g;
  for (int i = 0; i < 200; ++i) critic->forward(torch::randn({2, 16}));  // the power iteration converges
  double worst = 0;
  for (int i = 0; i < 500; ++i) {
    auto x = torch::randn({1, 16}), y = x + 0.1 * torch::randn({1, 16});
    double ratio =
        (critic->forward(x) - critic->forward(y)).abs().item<double>() / (x - y).norm().item<double>();
    worst = std::max(worst, ratio);
  }
  EXPECT_LE(worst, 1.0 + 1e-3);
  EXPECT_GT(worst, 0.01);  // and not trivially flat

  Critic plain(16, 32, /*spectral_norm=*/false, 1);
  for (auto& p : plain->parameters()) p.mul_(10);
  auto x = torch::randn({64, 16}), y = torch::randn({64, 16});
  auto ratios = (plain->forward(x) - plain->forward(y)).abs() / (x - y).norm(2, 1);
  EXPECT_GT(ratios.max().item<double>(), 1.5);
}

TEST(LogitStability, IsZeroForNoPerturbationAndTheSquaredDistanceOtherwise) {
  auto clean = torch::tensor({{1.0, 2.0}, {0.0, 0.0}});
  EXPECT_EQ(value(logit_stability(clean, clean)), 0.0);
  auto moved = torch::tensor({{1.0, 4.0}, {3.0, 0.0}});
  EXPECT_NEAR(value(logit_stability(moved, clean)), (4.0 + 9.0) / 2, 1e-6);
}

// A small student and a batch for the terms that run the model.
struct Fixture {
  models::NetworkPtr model = [] {
    torch::manual_seed(3);
    return models::build_model("lenet", {});
  }();
  torch::Tensor images = torch::rand({8, 1, 28, 28});
  torch::Tensor labels = torch::randint(0, 10, {8}, torch::kInt64);
};

TEST(Perturbation, IsZeroForAZeroStepAndPositiveOtherwise) {
  Fixture f;
  for (const char* delta : {"fgsm", "uniform"}) {
    LossConfig c;
    c.perturbation = 1;
    c.perturbation_delta = delta;
    auto out = f.model->forward_with_stages(f.images);
    c.train_eps = 0;
    auto zero = loss_registry().get("perturbation").build({c, *f.model, {}});
    EXPECT_EQ(value(zero->compute({*f.model, f.images, f.labels, out})), 0.0) << delta;
    c.train_eps = 0.1;
    auto some = loss_registry().get("perturbation").build({c, *f.model, {}});
    EXPECT_GT(value(some->compute({*f.model, f.images, f.labels, out})), 0.0) << delta;
  }
}

TEST(Objective, BuildsOnlyTheTermsThatAreOnAndSumsThemWithTheirWeights) {
  Fixture f;
  LossConfig c;
  c.ce = 0.5;
  c.kd = 2;
  c.spectral = 0.01;
  Objective objective(c, *f.model);
  EXPECT_EQ(objective.active(), (std::vector<std::string>{"ce", "kd", "spectral"}));
  EXPECT_TRUE(objective.needs_teacher());
  EXPECT_FALSE(objective.needs_stages());
  auto out = f.model->forward_with_stages(f.images);
  nn::StagedOutput teacher{out.logits.detach() * 2, {}};
  auto v = objective.compute({*f.model, f.images, f.labels, out, &teacher});
  ASSERT_EQ(v.parts.size(), 3u);
  EXPECT_NEAR(value(v.total),
              0.5 * value(v.parts[0].second) + 2 * value(v.parts[1].second) + 0.01 * value(v.parts[2].second),
              1e-4);
  EXPECT_GT(value(v.parts[2].second), 0.0);

  LossConfig none;
  none.ce = 0;
  EXPECT_THROW({ Objective o(none, *f.model); }, InputError);
}

TEST(Objective, CriticsAndTheirOptimizerSurviveACheckpoint) {
  Fixture f;
  LossConfig c;
  c.adversarial = 1;
  c.n_critic = 2;
  auto out = f.model->forward_with_stages(f.images);
  std::vector<int64_t> widths;
  for (const auto& s : out.stages) widths.push_back(s.size(1));
  ASSERT_EQ(widths.size(), 3u);  // lenet: two conv stages and the hidden fully connected layers

  torch::manual_seed(5);
  Objective a(c, *f.model, widths);
  nn::StagedOutput teacher{out.logits.detach(), {}};
  for (const auto& s : out.stages) teacher.stages.push_back(s.detach() + 1);
  a.compute({*f.model, f.images, f.labels, out, &teacher});  // trains the critics a little
  std::stringstream buffer;
  {
    torch::serialize::OutputArchive archive;
    a.save(archive);
    archive.save_to(buffer);
  }
  torch::manual_seed(6);
  Objective b(c, *f.model, widths);
  torch::serialize::InputArchive archive;
  archive.load_from(buffer);
  b.load(archive);
  auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  // Same state, same next step (the gradient penalty's interpolation draws from torch's generator).
  torch::manual_seed(9);
  auto va = a.compute({*f.model, f.images, f.labels, out, &teacher});
  torch::manual_seed(9);
  auto vb = b.compute({*f.model, f.images, f.labels, out, &teacher});
  EXPECT_DOUBLE_EQ(value(va.parts[1].second), value(vb.parts[1].second));
}

}  // namespace
}  // namespace r2q::losses
