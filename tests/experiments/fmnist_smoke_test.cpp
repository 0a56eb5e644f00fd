// Real data: LeNet trained for one epoch on a Fashion-MNIST subset reaches at least 80% test accuracy; a
// 2-bit LeNet deployed on the CPU backend keeps its accuracy on the whole test set.
#include <gtest/gtest.h>

#include "core/data/registry.h"
#include "core/spec/spec.h"
#include "experiments/execute.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

TEST(FashionMnist, LeNetOneEpochReachesEightyPercent) {
  auto root = data::resolve_root("fashion-mnist", std::nullopt);
  if (!std::filesystem::exists(root / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not found at " << root << " (sudo apt-get install dataset-fashion-mnist)";
  auto run =
      spec::resolve(nlohmann::json::parse(R"({"dataset": {"name": "fashion-mnist", "train_limit": 30000,
      "test_limit": 5000}, "model": {"name": "lenet"}, "quant": {"method": "fp32"},
      "train": {"epochs": 1, "batch_size": 32, "lr": 0.05, "augment": false, "weight_decay": 0},
      "eval": {"fgsm_eps": [0, 0.05]}, "threads": 2})"),
                    "smoke");
  testing::TempDir dir;
  auto metrics = sweep::execute_run(run, {dir / "ckpt.pt"});
  double acc = -1, fgsm = -1;
  for (const auto& m : metrics) {
    if (m.name == "test/acc") acc = m.value;
    if (m.name == "test/fgsm/0.05/acc") fgsm = m.value;
  }
  EXPECT_GE(acc, 0.80);
  EXPECT_LT(fgsm, acc);  // an undefended network loses accuracy under FGSM
}

// The deployed model (eval.backend "cpu": exported in memory, run by the shift-add engine) classifies the
// whole Fashion-MNIST test set exactly as the fake-quant LibTorch model does.
TEST(FashionMnist, DeployedAccuracyEqualsFakeQuantAccuracy) {
  auto root = data::resolve_root("fashion-mnist", std::nullopt);
  if (!std::filesystem::exists(root / "t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not found at " << root << " (sudo apt-get install dataset-fashion-mnist)";
  auto run =
      spec::resolve(nlohmann::json::parse(R"({"dataset": {"name": "fashion-mnist", "train_limit": 6000},
      "model": {"name": "lenet"}, "quant": {"method": "r2q", "weight_bits": 2, "act_bits": 2,
      "first_last_bits": 8}, "train": {"epochs": 1, "batch_size": 64, "lr": 0.05, "augment": false},
      "eval": {"fgsm_eps": [0], "backend": "cpu"}, "threads": 2})"),
                    "deploy");
  testing::TempDir dir;
  std::map<std::string, double> m;
  for (const auto& metric : sweep::execute_run(run, {dir / "ckpt.pt"})) m[metric.name] = metric.value;
  ASSERT_TRUE(m.contains("deploy/cpu/acc"));
  EXPECT_GT(m["test/acc"], 0.3);  // it learned something (chance is 0.1), so equal accuracies mean something
  EXPECT_EQ(m["deploy/cpu/acc"], m["test/acc"]);
  EXPECT_EQ(m["deploy/cpu/agreement"], 1.0);
  EXPECT_GT(m["deploy/cpu/latency_us"], 0.0);
}

}  // namespace
}  // namespace r2q
