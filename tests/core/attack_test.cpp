// PGD: stays in the eps-ball and the pixel range, and is at least as strong as FGSM on a trained model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/attack/fgsm.h"
#include "core/attack/pgd.h"
#include "core/data/registry.h"
#include "core/train/evaluate.h"
#include "core/train/trainer.h"
#include "models/registry.h"

namespace r2q::attack {
namespace {

TEST(Pgd, StaysInTheEpsBallAndThePixelRange) {
  torch::manual_seed(0);
  auto model = models::build_model("lenet", {});
  model->eval();
  auto x = torch::rand({4, 1, 28, 28});
  auto y = torch::randint(0, 10, {4}, torch::kInt64);
  for (double eps : {0.01, 0.1, 0.3}) {
    auto adv = pgd(*model, x, y, {eps, 5, 0});
    EXPECT_LE((adv - x).abs().max().item<double>(), eps + 1e-6);
    EXPECT_GE(adv.min().item<double>(), 0.0);
    EXPECT_LE(adv.max().item<double>(), 1.0);
  }
  // No parameter gradients are left behind.
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Pgd, IsAtLeastAsStrongAsFgsmOnATrainedModel) {
  data::DataOptions o;
  o.name = "synthetic";
  o.train_limit = 2000;
  o.test_limit = 500;
  o.val_size = 0;
  auto data = data::load(o);
  torch::manual_seed(0);
  auto model = models::build_model("lenet", {});
  train::TrainConfig config;
  config.epochs = 3;
  config.batch_size = 32;
  config.lr = 0.05;
  train::Trainer trainer(*model, config, data.train.size());
  for (int e = 1; e <= config.epochs; ++e) trainer.train_epoch(data.train, e, nullptr, nullptr);

  train::EvalPlan plan;
  plan.fgsm_eps = {0.0, 0.05, 0.1};
  plan.pgd_eps = {0.05, 0.1};
  plan.pgd_steps = 10;
  torch::manual_seed(1);
  auto r = train::evaluate(*model, data.test, plan);
  ASSERT_GT(r.clean, 0.5);  // trained: there is accuracy to attack
  for (double eps : plan.pgd_eps) {
    EXPECT_LE(r.pgd.at(eps), r.fgsm.at(eps)) << "eps " << eps;
    EXPECT_LT(r.pgd.at(eps), r.clean) << "eps " << eps;
  }
  // Transfer from the model itself is exactly the white-box FGSM.
  plan.pgd_eps.clear();
  plan.transfer_source = model.get();
  auto t = train::evaluate(*model, data.test, plan);
  EXPECT_EQ(t.transfer_fgsm, (std::map<double, double>{{0.05, t.fgsm.at(0.05)}, {0.1, t.fgsm.at(0.1)}}));
}

}  // namespace
}  // namespace r2q::attack
