// Training runs end to end on synthetic data: determinism, exact resume from a checkpoint, divergence,
// schedules.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/spec/spec.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "experiments/execute.h"
#include "models/registry.h"
#include "tests/support/temp_dir.h"

namespace r2q::sweep {
namespace {

using nlohmann::json;

spec::RunSpec synthetic_run(const std::string& extra = "{}") {
  json base = json::parse(R"({"dataset": {"name": "synthetic", "val_size": 200, "train_limit": 1000},
      "model": {"name": "lenet"}, "quant": {"method": "fp32"},
      "train": {"epochs": 2, "batch_size": 16, "lr": 0.05}, "eval": {"fgsm_eps": [0, 0.05]}, "threads": 2})");
  base.merge_patch(json::parse(extra));
  return spec::resolve(base, "test");
}

std::map<std::string, double> as_map(const std::vector<store::Metric>& metrics) {
  std::map<std::string, double> out;
  for (const auto& m : metrics)
    if (m.name.rfind("test/", 0) == 0) out[m.name] = m.value;  // timing metrics differ between runs
  return out;
}

// Records what a run reports, and optionally asks it to stop after a given epoch's checkpoint.
struct Recorder : RunHooks {
  std::vector<std::pair<int, std::vector<store::Metric>>> epochs;
  std::atomic<bool> stop{false};
  int stop_after = 0;
  json facts;
  void epoch_done(int epoch, const std::vector<store::Metric>& metrics) override {
    epochs.emplace_back(epoch, metrics);
  }
  void checkpoint_saved(const std::filesystem::path&, int epoch) override {
    if (epoch == stop_after) stop = true;
  }
  void environment(const json& f) override { facts.merge_patch(f); }
};

TEST(Execute, SameSeedSameResultDifferentSeedDifferentResult) {
  testing::TempDir dir;
  Recorder a, b, c;
  auto run = synthetic_run();
  auto ra = as_map(execute_run(run, {dir / "a.pt", nullptr, nullptr, &a}));
  auto rb = as_map(execute_run(run, {dir / "b.pt", nullptr, nullptr, &b}));
  auto rc = as_map(execute_run(synthetic_run(R"({"seed": 1})"), {dir / "c.pt", nullptr, nullptr, &c}));
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
  ASSERT_EQ(a.epochs.size(), 2u);
  EXPECT_EQ(a.epochs[0].second[0].value, b.epochs[0].second[0].value);  // train/loss of epoch 1
  EXPECT_EQ(a.facts["threads"], 2);
  EXPECT_EQ(a.facts["data"]["train"], 1000);
  EXPECT_GT(ra["test/acc"], 0.8);  // it learns
}

TEST(Execute, ResumedRunEqualsUninterruptedRun) {
  testing::TempDir dir;
  auto run = synthetic_run();
  Recorder whole;
  auto uninterrupted = as_map(execute_run(run, {dir / "whole.pt", nullptr, nullptr, &whole}));

  Recorder first;
  first.stop_after = 1;
  EXPECT_THROW(execute_run(run, {dir / "split.pt", &first.stop, nullptr, &first}), Interrupted);
  ASSERT_EQ(first.epochs.size(), 1u);
  Recorder second;
  auto resumed = as_map(execute_run(run, {dir / "split.pt", &second.stop, nullptr, &second}));
  ASSERT_EQ(second.epochs.size(), 1u);
  EXPECT_EQ(second.epochs[0].first, 2);  // continued where the checkpoint left off
  EXPECT_EQ(resumed, uninterrupted);
  EXPECT_EQ(second.epochs[0].second[0].value, whole.epochs[1].second[0].value);
}

TEST(Execute, CheckpointOfAnotherRunIsRefused) {
  testing::TempDir dir;
  Recorder r;
  execute_run(synthetic_run(R"({"train": {"epochs": 1}})"), {dir / "x.pt", nullptr, nullptr, &r});
  EXPECT_THROW(
      execute_run(synthetic_run(R"({"train": {"epochs": 2}})"), {dir / "x.pt", nullptr, nullptr, &r}),
      RunError);
}

TEST(Execute, DivergenceFailsTheRunWithAReason) {
  testing::TempDir dir;
  Recorder r;
  try {
    execute_run(
        synthetic_run(R"({"train": {"lr": 100, "schedule": "constant"}, "dataset": {"train_limit": 0}})"),
        {dir / "nan.pt", nullptr, nullptr, &r});
    FAIL() << "no divergence";
  } catch (const RunError& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged: loss is"), std::string::npos) << e.what();
  }
}

TEST(CheckRunnable, NamesTheFieldThatCannotRun) {
  auto expect = [](const std::string& extra, const std::string& fragment) {
    try {
      check_runnable(synthetic_run(extra), "spec.json: run 1");
      ADD_FAILURE() << extra;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect(R"({"model": {"name": "vgg"}})", "spec.json: run 1: model.name: unknown model \"vgg\"");
  expect(R"({"quant": {"method": "dorefa2"}})", "quant.method: unknown quantization method \"dorefa2\"");
  expect(R"({"quant": {"method": "lsq", "weight_bits": 1}})",
         "quant.weight_bits: 1 bits is not supported by \"lsq\" (supported: weight_bits 2-8, act_bits 2-8)");
  expect(R"({"quant": {"method": "xnor", "weight_bits": 2}})", "supported: weight_bits 1, act_bits 1");
  expect(R"({"quant": {"method": "r2q", "first_last_bits": 12}})",
         "quant.first_last_bits: 12 is not supported");
  testing::TempDir dir;  // a directory that surely does not exist, whatever else is on the machine
  const std::string missing = (dir / "missing").string();
  expect(R"({"dataset": {"name": "cifar10", "root": ")" + missing + R"("}})", "no dataset at " + missing);
  expect(R"({"dataset": {"image_size": 64}})", "dataset.image_size: applies to image-folder datasets only");
  EXPECT_NO_THROW(check_runnable(synthetic_run(), "x"));
}

TEST(Schedule, CosineStepAndConstant) {
  torch::manual_seed(0);
  auto model = models::build_model("lenet", {});
  train::TrainConfig c;
  c.epochs = 2;
  c.batch_size = 10;
  c.lr = 0.1;
  train::Trainer cosine(*model, c, 100);  // 10 batches per epoch, 20 steps
  EXPECT_DOUBLE_EQ(cosine.lr_at(0), 0.1);
  EXPECT_NEAR(cosine.lr_at(10), 0.05, 1e-12);
  EXPECT_NEAR(cosine.lr_at(20), 0.0, 1e-12);
  c.schedule = "step";
  train::Trainer step(*model, c, 100);
  EXPECT_DOUBLE_EQ(step.lr_at(9), 0.1);
  EXPECT_DOUBLE_EQ(step.lr_at(10), 0.1 * 0.1);
  EXPECT_DOUBLE_EQ(step.lr_at(15), 0.1 * 0.01);
  c.schedule = "constant";
  EXPECT_DOUBLE_EQ(train::Trainer(*model, c, 100).lr_at(17), 0.1);
  c.batch_size = 101;
  EXPECT_THROW(train::Trainer(*model, c, 100), InputError);
}

}  // namespace
}  // namespace r2q::sweep
