// A stored run's trained model, for the commands that use it (export, eval --against): finding the run by its
// key or a unique prefix, checking that it finished and has its checkpoint, and rebuilding the LibTorch model
// from its config and checkpoint.
#pragma once

#include <filesystem>
#include <string>

#include "core/nn/network.h"
#include "core/spec/run_config.h"
#include "core/store/store.h"
#include "models/registry.h"

namespace r2q::cli {

// The first 12 hex digits of a run key, for messages.
std::string short_key(const std::string& key);

// The run whose key is `wanted` or starts with it; InputError otherwise, saying what the store has (its
// finished runs, or the runs an ambiguous prefix matches).
store::RunRecord find_run(store::Store& store, const std::string& wanted);

// The checkpoint of `run`, which must be finished and have one (InputError naming the run otherwise).
std::filesystem::path finished_run_checkpoint(const store::Store& store, const store::RunRecord& run);

struct TrainedModel {
  spec::RunConfig config;    // resolved with the run's execution settings (its dataset root)
  nn::InputShape shape;      // the input of the run's dataset
  models::NetworkPtr model;  // the checkpoint's weights, in eval mode
};

// Rebuilds `run`'s model from its config and `checkpoint` (finished_run_checkpoint). Errors name the run.
TrainedModel load_trained_model(const store::RunRecord& run, const std::filesystem::path& checkpoint);

}  // namespace r2q::cli
