// Evaluation of a trained model on a deployment backend (eval.backend, DESIGN §6): the model is exported to
// the deployment IR in memory, planned once on the backend, and run over the test set; its accuracy is stored
// next to the fake-quant accuracy it must equal, with its latency per image.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/data/dataset.h"
#include "core/nn/network.h"

namespace r2q::sweep {

struct DeployEvalOptions {
  std::string backend;                // a registered backend ("cpu")
  int threads = 1;                    // the plan's threads
  std::int64_t batch_size = 256;      // for the accuracy pass
  std::int64_t latency_images = 200;  // batch-1 runs timed (the first test images), after a few warm-up runs
};

struct DeployEvalResult {
  double accuracy = 0;    // fraction of the test set the deployed model classifies correctly
  double agreement = 0;   // fraction whose deployed prediction equals the LibTorch model's
  double latency_us = 0;  // median wall time of one batch-1 run, in microseconds
  nlohmann::json
      facts;  // engine, per-layer paths, weight bytes, float-input layers: for the run's environment
};

// Exports `model` (any mode; evaluated in eval mode) for inputs of `input` shape, plans it on the backend and
// runs `test`. Throws InputError when the backend is unknown or unavailable, or the model cannot be exported.
DeployEvalResult evaluate_deployed(nn::Network& model, const nn::InputShape& input, const data::Dataset& test,
                                   const DeployEvalOptions& options);

// Checks, before any training, that `backend` exists and can run here and that `method` can be exported (a
// method with binary activations, XNOR-Net, cannot). Throws InputError naming the problem.
void check_deployable(const std::string& backend, const std::string& method);

}  // namespace r2q::sweep
