// The training loop.
#include "core/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <numbers>
#include <optional>

#include "core/data/loader.h"
#include "core/util/error.h"
#include "core/util/rng.h"
#include "core/util/text.h"

namespace r2q::train {

void use_channels_last(nn::Network& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

torch::Tensor as_model_input(const torch::Tensor& images) {
  return images.dim() == 4 ? images.contiguous(at::MemoryFormat::ChannelsLast) : images;
}

Trainer::Trainer(nn::Network& model, const TrainConfig& config, std::int64_t train_size, Guidance guidance)
    : model_(model), config_(config), objective_(guidance.objective), teacher_(guidance.teacher) {
  if (!objective_) {
    own_objective_ = cross_entropy_objective(config.ce_weight);
    objective_ = own_objective_.get();
  }
  if (objective_->needs_teacher() && !teacher_)
    throw std::logic_error("the objective needs a teacher and none was given");
  // NHWC: oneDNN's native layout. On this machine it is within the run-to-run noise of NCHW (median +3% over
  // 7 interleaved runs, docs/PERFORMANCE.md); results agree up to floating-point rounding.
  if (config.channels_last) use_channels_last(model);
  batches_per_epoch_ = train_size / config.batch_size;  // the incomplete last batch is dropped
  if (batches_per_epoch_ == 0)
    throw InputError("train.batch_size: " + std::to_string(config.batch_size) +
                     " is larger than the training set (" + std::to_string(train_size) + " images)");
  if (config.optimizer == "sgd") {
    optimizer_ = std::make_unique<torch::optim::SGD>(
        model.parameters(),
        torch::optim::SGDOptions(config.lr).momentum(config.momentum).weight_decay(config.weight_decay));
  } else if (config.optimizer == "adam") {
    optimizer_ = std::make_unique<torch::optim::Adam>(model.parameters(),
                                                      torch::optim::AdamOptions(config.lr)
                                                          .betas(std::make_tuple(config.momentum, 0.999))
                                                          .weight_decay(config.weight_decay));
  } else {
    throw InputError("train.optimizer: unknown optimizer " + quoted_value(config.optimizer));
  }
}

Trainer::~Trainer() = default;

std::uint64_t step_seed(std::uint64_t seed, int epoch, std::int64_t batch) {
  // A tag keeps these seeds apart from the data loader's, which derive from the same numbers.
  return Rng::derive(seed ^ 0x6c6f7373ull /* "loss" */, static_cast<std::uint64_t>(epoch),
                     static_cast<std::uint64_t>(batch))
             .next() >>
         1;
}

double Trainer::lr_at(std::int64_t step) const {
  const double total = static_cast<double>(batches_per_epoch_) * config_.epochs;
  const double progress = std::min(1.0, static_cast<double>(step) / total);
  if (config_.schedule == "cosine") return 0.5 * config_.lr * (1.0 + std::cos(std::numbers::pi * progress));
  if (config_.schedule == "step") return config_.lr * (progress >= 0.75 ? 0.01 : progress >= 0.5 ? 0.1 : 1.0);
  return config_.lr;
}

EpochStats Trainer::train_epoch(const data::Dataset& train, int epoch, ProgressSink* progress,
                                const std::atomic<bool>* stop) {
  using Clock = std::chrono::steady_clock;
  model_.train();
  data::BatchLoader loader(train, {.batch_size = config_.batch_size,
                                   .shuffle = true,
                                   .augment = config_.augment,
                                   .drop_last = true,
                                   .seed = config_.seed,
                                   .epoch = epoch});
  EpochStats stats;
  if (teacher_) teacher_->eval();
  // The epoch's sums stay on the model's device: on a GPU, reading a number back waits for every queued
  // kernel, so they are read every kStepsBetweenReads steps there (the divergence check and the progress
  // line) and at the end. On the CPU a read costs nothing: every step, as before.
  const torch::Device device = nn::device_of(model_);
  const bool on_gpu = device.is_cuda();
  const std::int64_t read_every = on_gpu ? kStepsBetweenReads : 1;
  torch::Tensor loss_sum, hits;  // float64 and int64 scalars
  std::vector<torch::Tensor> term_sums;
  std::int64_t last_read = -1;
  const auto start = Clock::now();
  for (std::int64_t b = 0; b < loader.size(); ++b) {
    if (stop && stop->load(std::memory_order_relaxed))
      throw Interrupted("interrupted in epoch " + std::to_string(epoch) + " at batch " + std::to_string(b));
    const double lr = lr_at((epoch - 1) * batches_per_epoch_ + b);
    for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);

    auto batch = data::on_device(loader[b], device);
    if (config_.channels_last) batch.images = as_model_input(batch.images);
    torch::manual_seed(step_seed(config_.seed, epoch, b));
    optimizer_->zero_grad();
    const bool stages = objective_->needs_stages();
    nn::StagedOutput out = stages ? model_.forward_with_stages(batch.images)
                                  : nn::StagedOutput{model_.forward(batch.images), {}};
    std::optional<nn::StagedOutput> teacher_out;
    if (objective_->needs_teacher()) {
      torch::NoGradGuard no_grad;
      teacher_out = stages ? teacher_->forward_with_stages(batch.images)
                           : nn::StagedOutput{teacher_->forward(batch.images), {}};
    }
    auto value =
        objective_->compute({model_, batch.images, batch.labels, out, teacher_out ? &*teacher_out : nullptr});
    const torch::Tensor& loss = value.total;
    const std::int64_t n = batch.labels.size(0);
    {
      torch::NoGradGuard no_grad;
      // Sums in float64 of (double) loss * n: the same numbers the per-step reads gave.
      const torch::Tensor weighted = loss.detach().to(torch::kFloat64) * static_cast<double>(n);
      loss_sum = loss_sum.defined() ? loss_sum + weighted : weighted;
      if (term_sums.empty()) term_sums.resize(value.parts.size());
      for (size_t i = 0; i < value.parts.size(); ++i) {
        const torch::Tensor part = value.parts[i].second.to(torch::kFloat64) * static_cast<double>(n);
        term_sums[i] = term_sums[i].defined() ? term_sums[i] + part : part;
      }
      const torch::Tensor batch_hits = out.logits.detach().argmax(1).eq(batch.labels).sum();
      hits = hits.defined() ? hits + batch_hits : batch_hits;
    }
    stats.images += n;
    if ((b + 1) % read_every == 0 || b + 1 == loader.size()) {
      // A loss that is not finite makes the sum so: the run fails at the first read after it.
      const double sum = loss_sum.item<double>();
      if (!std::isfinite(sum))
        throw RunError("training diverged: loss is " + std::string(std::isnan(sum) ? "nan" : "inf") +
                       " in epoch " + std::to_string(epoch) + " at batch " +
                       (read_every == 1
                            ? std::to_string(b)
                            : "between " + std::to_string(last_read + 1) + " and " + std::to_string(b)) +
                       " (lr " + shortest_decimal(lr) + "); lower train.lr");
      last_read = b;
      if (progress) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        progress->on_batch({epoch, config_.epochs, b + 1, loader.size(),
                            sum / static_cast<double>(stats.images),
                            static_cast<double>(stats.images) / std::max(elapsed, 1e-9), lr, elapsed});
      }
    }
    loss.backward();
    optimizer_->step();
  }
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double images = static_cast<double>(std::max<std::int64_t>(1, stats.images));
  stats.loss = loss_sum.defined() ? loss_sum.item<double>() / images : 0;
  stats.accuracy = hits.defined() ? static_cast<double>(hits.item<std::int64_t>()) / images : 0;
  const auto names = objective_->active();
  for (size_t i = 0; i < term_sums.size(); ++i)
    stats.terms.emplace_back(names[i], term_sums[i].item<double>() / images);
  return stats;
}

}  // namespace r2q::train
