// Training on a GPU (issue 17; ctest label `cuda`): every quantizer and loss term trains a step there, each
// attack runs there, a checkpoint written on the GPU resumes on the CPU, a tiny sweep runs there, and a
// seeded run with `deterministic` on repeats exactly. Each test skips, saying why, where no GPU is visible
// (Debian's LibTorch has no CUDA at all).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/attack/fgsm.h"
#include "core/attack/pgd.h"
#include "core/nn/network.h"
#include "core/spec/spec.h"
#include "core/train/checkpoint.h"
#include "core/train/trainer.h"
#include "experiments/execute.h"
#include "experiments/sweep.h"
#include "losses/objective.h"
#include "models/registry.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using nlohmann::json;

#define SKIP_WITHOUT_GPU()                                                                          \
  do {                                                                                              \
    if (!torch::cuda::is_available())                                                               \
      GTEST_SKIP() << "no GPU visible to this LibTorch (Debian's LibTorch is CPU-only; build with " \
                      "scripts/build-cuda on a GPU machine)";                                       \
  } while (false)

const torch::Device kGpu(torch::kCUDA, 0);

spec::RunSpec gpu_run(const std::string& extra = "{}") {
  json base = json::parse(R"({"dataset": {"name": "synthetic", "val_size": 100, "train_limit": 400,
      "test_limit": 100}, "model": {"name": "lenet"}, "quant": {"method": "r2q"},
      "train": {"epochs": 2, "batch_size": 32, "lr": 0.05}, "eval": {"fgsm_eps": [0, 0.05],
      "pgd": {"eps": [0.05], "steps": 2}}, "device": "cuda", "threads": 2})");
  base.merge_patch(json::parse(extra));
  return spec::resolve(base, "cuda test");
}

std::map<std::string, double> test_metrics(const std::vector<store::Metric>& metrics) {
  std::map<std::string, double> out;
  for (const auto& m : metrics)
    if (m.name.starts_with("test/")) out[m.name] = m.value;
  return out;
}

struct NoHooks : sweep::RunHooks {
  json facts;
  void epoch_done(int, const std::vector<store::Metric>&) override {}
  void checkpoint_saved(const std::filesystem::path&, int) override {}
  void environment(const json& f) override { facts.merge_patch(f); }
};

TEST(Cuda, EveryQuantizerAndLossTermTrainsAStep) {
  SKIP_WITHOUT_GPU();
  const nn::InputShape shape{1, 28, 28, 10, {0.5}, {0.25}};
  data::Dataset data;
  data.images = torch::randint(0, 256, {8, 1, 28, 28}, torch::kUInt8).to(kGpu);
  data.labels = torch::randint(0, 10, {8}, torch::kLong).to(kGpu);
  models::NetworkPtr teacher = models::build_model("lenet", shape);
  teacher->to(kGpu);
  teacher->eval();
  losses::LossConfig all;
  all.kd = all.structural = 1;
  all.adversarial = all.perturbation = 0.1;
  all.train_eps = 0.03;
  all.spectral = 0.01;
  all.n_critic = 2;
  std::vector<int64_t> widths;
  {
    torch::NoGradGuard no_grad;
    for (const auto& s : teacher->forward_with_stages(torch::zeros({1, 1, 28, 28}, kGpu)).stages)
      widths.push_back(s.size(1));
  }
  for (const std::string method : {"r2q", "dorefa", "pact", "lsq", "apot", "lqnet", "xnor"}) {
    SCOPED_TRACE(method);
    const int bits = method == "xnor" ? 1 : 2;
    models::NetworkPtr student =
        models::build_model("lenet", shape, quant::LayerFactory({method, bits, bits, 8}));
    student->to(kGpu);
    losses::Objective objective(all, *student, widths);
    objective.to(kGpu);
    train::TrainConfig config;
    config.batch_size = 4;
    train::Trainer trainer(*student, config, data.size(), {&objective, teacher.get()});
    const auto stats = trainer.train_epoch(data, 1, nullptr, nullptr);
    EXPECT_TRUE(std::isfinite(stats.loss));
    EXPECT_TRUE(student->parameters().front().is_cuda());
  }
}

TEST(Cuda, AttacksRunOnTheGpu) {
  SKIP_WITHOUT_GPU();
  models::NetworkPtr model = models::build_model("lenet", {1, 28, 28, 10, {0.5}, {0.25}});
  model->to(kGpu);
  model->eval();
  const torch::Tensor x = torch::rand({4, 1, 28, 28}, kGpu),
                      y = torch::randint(0, 10, {4}, torch::kLong).to(kGpu);
  const auto g = attack::input_gradient_sign(*model, x, y);
  EXPECT_TRUE(attack::fgsm_step(x, g.sign, 0.1).is_cuda());
  const torch::Tensor adv = attack::pgd(*model, x, y, {0.1, 3, 0});
  EXPECT_TRUE(adv.is_cuda());
  EXPECT_LE((adv - x).abs().max().item<double>(), 0.1 + 1e-6);
}

TEST(Cuda, ACheckpointWrittenOnTheGpuResumesOnTheCpu) {
  SKIP_WITHOUT_GPU();
  testing::TempDir dir;
  const auto run = gpu_run();
  std::atomic<bool> stop{false};
  struct StopAfterOne : NoHooks {
    std::atomic<bool>* stop;
    void checkpoint_saved(const std::filesystem::path&, int epoch) override { *stop = epoch == 1; }
  } first;
  first.stop = &stop;
  EXPECT_THROW(sweep::execute_run(run, {dir / "c.pt", &stop, nullptr, &first}), Interrupted);
  // The same checkpoint loads into a model on the CPU.
  models::NetworkPtr model =
      models::build_model("lenet", {1, 28, 28, 10, {0.5}, {0.25}}, quant::LayerFactory({"r2q", 2, 2, 8}));
  torch::optim::SGD sgd(model->parameters(), 0.1);
  std::string discarded;
  const auto state = train::load_checkpoint(dir / "c.pt", run.key, *model, sgd, nullptr, &discarded);
  ASSERT_TRUE(state.has_value()) << discarded;
  EXPECT_EQ(state->epoch, 1);
  EXPECT_TRUE(model->parameters().front().is_cpu());
}

TEST(Cuda, ASweepRunsOnTheGpuAndRecordsIt) {
  SKIP_WITHOUT_GPU();
  NoHooks hooks;
  testing::TempDir dir;
  const auto finals = sweep::execute_run(gpu_run(), {dir / "s.pt", nullptr, nullptr, &hooks});
  EXPECT_GT(test_metrics(finals).at("test/acc"), 0.5);
  EXPECT_EQ(hooks.facts["device"]["type"], "cuda");
  EXPECT_TRUE(hooks.facts["device"].contains("name"));
}

TEST(Cuda, ASeededDeterministicRunRepeatsExactly) {
  SKIP_WITHOUT_GPU();
  testing::TempDir dir;
  const auto run = gpu_run(R"({"deterministic": true})");
  NoHooks a, b;
  const auto first = test_metrics(sweep::execute_run(run, {dir / "a.pt", nullptr, nullptr, &a}));
  const auto second = test_metrics(sweep::execute_run(run, {dir / "b.pt", nullptr, nullptr, &b}));
  EXPECT_EQ(first, second);
  EXPECT_EQ(a.facts["device"]["deterministic"], true);
}

// On any machine: the device is part of the run key, and a CPU-only LibTorch refuses "cuda" before running.
TEST(CudaKey, TheDeviceIsPartOfTheRunKey) {
  const auto cpu = spec::resolve(json{{"device", "cpu"}}, "k"),
             gpu = spec::resolve(json{{"device", "cuda"}}, "k");
  EXPECT_NE(cpu.key, gpu.key);
  // The deterministic setting is how a run executes, not what it computes: not in the key.
  EXPECT_EQ(spec::resolve(json{{"device", "cuda"}, {"deterministic", true}}, "k").key, gpu.key);
  if (!torch::cuda::is_available()) {
    EXPECT_THROW(sweep::check_runnable(gpu_run(), "cuda test"), InputError);
  }
}

}  // namespace
}  // namespace r2q
