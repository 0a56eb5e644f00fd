// Every loss term, alone and all together, under every Lipschitz mode, trains a step of every model on
// tiny data: no combination of the spec's loss settings can break unseen (issue 15: the adversarial term
// with spectrally normalised critics failed every run).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/quant/layers.h"
#include "core/train/trainer.h"
#include "losses/objective.h"
#include "models/registry.h"

namespace r2q::train {
namespace {

struct Case {
  std::string name;
  losses::LossConfig loss;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  auto add = [&](std::string name, auto&& set) {
    losses::LossConfig c;
    c.n_critic = 2;
    set(c);
    out.push_back({std::move(name), c});
  };
  add("ce", [](auto&) {});
  add("kd", [](auto& c) { c.ce = 0, c.kd = 1; });
  add("structural", [](auto& c) { c.structural = 1; });
  add("structural_angle", [](auto& c) { c.structural = 1, c.structural_angle = 1; });
  for (const char* mode : {"gp", "spectral", "none"})
    add(std::string("adversarial_") + mode, [&](auto& c) { c.adversarial = 0.1, c.lipschitz_mode = mode; });
  add("perturbation_fgsm", [](auto& c) { c.perturbation = 0.1, c.train_eps = 0.03; });
  add("perturbation_uniform",
      [](auto& c) { c.perturbation = 0.1, c.train_eps = 0.03, c.perturbation_delta = "uniform"; });
  add("spectral", [](auto& c) { c.spectral = 0.01; });
  for (const char* mode : {"gp", "spectral", "none"})
    add(std::string("all_") + mode, [&](auto& c) {
      c.kd = 1, c.structural = 1, c.structural_angle = 1, c.adversarial = 0.1, c.lipschitz_mode = mode;
      c.perturbation = 0.1, c.train_eps = 0.03, c.spectral = 0.01;
    });
  return out;
}

struct ModelCase {
  std::string name;
  int channels, size;
};

void PrintTo(const ModelCase& m, std::ostream* out) {
  *out << m.name << " on " << m.channels << "x" << m.size << "x" << m.size;
}

class LossMatrix : public ::testing::TestWithParam<ModelCase> {};

TEST_P(LossMatrix, EveryTermAndLipschitzModeTrainsAStep) {
  const ModelCase& m = GetParam();
  const nn::InputShape shape{m.channels,
                             m.size,
                             m.size,
                             10,
                             std::vector<double>(m.channels, 0.5),
                             std::vector<double>(m.channels, 0.25)};
  torch::manual_seed(0);
  data::Dataset data;
  data.images = torch::randint(0, 256, {4, m.channels, m.size, m.size}, torch::kUInt8);
  data.labels = torch::randint(0, 10, {4}, torch::kLong);

  torch::manual_seed(1);
  models::NetworkPtr teacher = models::build_model(m.name, shape);
  teacher->eval();
  for (auto& p : teacher->parameters()) p.requires_grad_(false);
  std::vector<int64_t> widths;
  {
    torch::NoGradGuard no_grad;
    for (const auto& s : teacher->forward_with_stages(torch::zeros({1, m.channels, m.size, m.size})).stages)
      widths.push_back(s.size(1));
  }
  // One student for all cases (building a ResNet-18 costs more than its step): each case trains on from where
  // the last one left it.
  torch::manual_seed(2);
  models::NetworkPtr student = models::build_model(m.name, shape, quant::LayerFactory({"r2q", 2, 2, 8}));
  for (const Case& c : cases()) {
    SCOPED_TRACE(m.name + " / " + c.name);
    losses::Objective objective(c.loss, *student, c.loss.adversarial > 0 ? widths : std::vector<int64_t>{});
    TrainConfig config;
    config.batch_size = 4;  // one step: the critics train n_critic times in it
    config.lr = 0.01;
    Trainer trainer(*student, config, data.size(), {&objective, teacher.get()});
    EpochStats stats;
    ASSERT_NO_THROW(stats = trainer.train_epoch(data, 1, nullptr, nullptr));
    EXPECT_EQ(stats.images, 4);
    EXPECT_TRUE(std::isfinite(stats.loss));
    EXPECT_EQ(stats.terms.size(), objective.active().size());
  }
}

INSTANTIATE_TEST_SUITE_P(Models, LossMatrix,
                         ::testing::Values(ModelCase{"lenet", 1, 28}, ModelCase{"resnet20", 3, 32},
                                           ModelCase{"mobilenetv2", 3, 32}, ModelCase{"squeezenet", 3, 32},
                                           ModelCase{"resnet18", 3, 16}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace r2q::train
