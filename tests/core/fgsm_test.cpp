// FGSM against the analytic answer on a linear model, and the evaluation built on it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/attack/fgsm.h"
#include "core/nn/network.h"
#include "core/train/evaluate.h"

namespace r2q::attack {
namespace {

// logits = W * flatten(x) + b
class Linear : public nn::Network {
 public:
  Linear(torch::Tensor w, torch::Tensor b) : w_(register_parameter("w", w)), b_(register_parameter("b", b)) {}
  torch::Tensor forward(const torch::Tensor& x) override { return torch::addmm(b_, x.flatten(1), w_.t()); }

 private:
  torch::Tensor w_, b_;
};

TEST(Fgsm, MatchesTheAnalyticGradientSignOfALinearModel) {
  torch::manual_seed(3);
  auto w = torch::randn({3, 4});
  auto b = torch::randn({3});
  Linear model(w, b);
  auto x = torch::rand({5, 1, 2, 2});
  auto y = torch::tensor({0, 1, 2, 1, 0}, torch::kInt64);
  // d CE / d x = W^T (softmax(Wx + b) - onehot(y)).
  auto p = torch::softmax(torch::addmm(b, x.flatten(1), w.t()), 1);
  auto grad = torch::mm(p - torch::one_hot(y, 3).to(torch::kFloat32), w).view_as(x);
  for (double eps : {0.01, 0.1, 0.5}) {
    auto expected = (x + eps * grad.sign()).clamp(0, 1);
    EXPECT_TRUE(torch::allclose(fgsm(model, x, y, eps), expected, 1e-6, 1e-6)) << "eps " << eps;
  }
  // Parameter gradients are not touched by the attack.
  for (const auto& param : model.parameters()) EXPECT_FALSE(param.grad().defined());
}

TEST(Fgsm, StaysInsidePixelRange) {
  Linear model(torch::ones({2, 4}), torch::zeros({2}));
  auto x = torch::tensor({0.0f, 1.0f, 0.5f, 0.99f}).view({1, 1, 2, 2});
  auto adv = fgsm(model, x, torch::tensor({1}, torch::kInt64), 0.3);
  EXPECT_GE(adv.min().item<float>(), 0.0f);
  EXPECT_LE(adv.max().item<float>(), 1.0f);
}

TEST(Evaluate, ZeroEpsilonIsCleanAndLargerEpsilonDoesNotHelp) {
  torch::manual_seed(1);
  Linear model(torch::randn({3, 4}), torch::randn({3}));
  data::Dataset d{(torch::rand({200, 1, 2, 2}) * 255).to(torch::kUInt8),
                  torch::randint(0, 3, {200}, torch::kInt64)};
  // Make the labels what the model predicts, so clean accuracy is 1 and the attack has something to destroy.
  {
    torch::NoGradGuard g;
    d.labels = model.forward(d.images.to(torch::kFloat32) / 255).argmax(1);
  }
  auto r = train::evaluate_robustness(model, d, {0.0, 0.05, 0.2}, 64);
  EXPECT_DOUBLE_EQ(r.clean, 1.0);
  EXPECT_DOUBLE_EQ(r.fgsm.at(0.0), r.clean);
  EXPECT_LT(r.fgsm.at(0.05), 1.0);
  EXPECT_LE(r.fgsm.at(0.2), r.fgsm.at(0.05));
  EXPECT_DOUBLE_EQ(train::accuracy(model, d, 64), 1.0);
}

}  // namespace
}  // namespace r2q::attack
