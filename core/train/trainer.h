// The training loop: SGD (momentum, weight decay) or Adam, a per-iteration learning-rate schedule, loss
// divergence detection, and cooperative stopping between batches.
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include <torch/optim/optimizer.h>

#include "core/data/dataset.h"
#include "core/nn/network.h"
#include "core/spec/run_config.h"
#include "core/train/objective.h"
#include "core/train/progress.h"

namespace r2q::train {

using TrainConfig = spec::TrainConfig;

// NHWC layout for the model's 4-D parameters, and for an input batch.
void use_channels_last(nn::Network& model);
torch::Tensor as_model_input(const torch::Tensor& images);

struct EpochStats {
  double loss = 0, accuracy = 0, seconds = 0;
  std::int64_t images = 0;
  std::vector<std::pair<std::string, double>> terms;  // mean unweighted value of each loss term
};

// What the student learns from besides the labels: the objective (null = cross-entropy times ce_weight) and
// the FP32 teacher when the objective needs one (used in eval mode, without gradients).
struct Guidance {
  Objective* objective = nullptr;
  nn::Network* teacher = nullptr;
};

// On a GPU, how many steps run between two reads of the epoch's loss sum (each read waits for the device).
inline constexpr std::int64_t kStepsBetweenReads = 50;

// The seed of torch's generator for one training step.
std::uint64_t step_seed(std::uint64_t seed, int epoch, std::int64_t batch);

class Trainer {
 public:
  Trainer(nn::Network& model, const TrainConfig& config, std::int64_t train_size, Guidance guidance = {});
  ~Trainer();

  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
  // Learning rate at a global step (0-based), per the schedule.
  double lr_at(std::int64_t step) const;

  // Trains one epoch (1-based). Throws RunError on a non-finite loss, Interrupted when *stop becomes true.
  // torch's global generator is reseeded from (seed, epoch, batch) before every step, so random draws of
  // the loss terms are the same whether or not the run was resumed.
  EpochStats train_epoch(const data::Dataset& train, int epoch, ProgressSink* progress,
                         const std::atomic<bool>* stop);

 private:
  nn::Network& model_;
  TrainConfig config_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::int64_t batches_per_epoch_ = 0;
  std::shared_ptr<Objective> own_objective_;  // the cross-entropy objective when none was given
  Objective* objective_ = nullptr;
  nn::Network* teacher_ = nullptr;
};

}  // namespace r2q::train
