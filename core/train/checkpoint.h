// Epoch checkpoints: model parameters and buffers, optimizer state, the epoch reached and the training time
// so far, written atomically and checksummed. Data order and augmentation are functions of (seed, epoch,
// batch), so this is all a resumed run needs to continue exactly as the uninterrupted run would have.
// Checkpoints are device-independent: they load onto the device of the model they load into.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <torch/optim/optimizer.h>

#include "core/nn/network.h"

namespace r2q::train {

struct CheckpointState {
  int epoch = 0;             // epochs completed
  double train_seconds = 0;  // training time accumulated over those epochs (all attempts)
  int64_t images_seen = 0;
};

// `losses`: state of the loss terms (critics and their optimizer, power-iteration vectors), when any.
void save_checkpoint(const std::filesystem::path& path, const std::string& run_key, nn::Network& model,
                     torch::optim::Optimizer& optimizer, const CheckpointState& state,
                     const torch::nn::Module* losses = nullptr);

// Restores model and optimizer from `path`. Returns nullopt when there is no file, and when the file fails
// its check (a flipped bit, truncated, empty, not a checkpoint): that file is renamed to PATH.damaged, the
// reason goes to *discarded, and the run starts over. A checkpoint of another run, or one that passes its
// check but does not fit the model, is a RunError naming the file.
std::optional<CheckpointState> load_checkpoint(const std::filesystem::path& path, const std::string& run_key,
                                               nn::Network& model, torch::optim::Optimizer& optimizer,
                                               torch::nn::Module* losses = nullptr,
                                               std::string* discarded = nullptr);

// Loads only the model weights of a checkpoint (export, teachers). A damaged file is a RunError.
void load_weights(const std::filesystem::path& path, nn::Network& model);

}  // namespace r2q::train
