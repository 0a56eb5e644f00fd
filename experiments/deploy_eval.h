// Evaluation of a trained model on a deployment backend (eval.backend, DESIGN §6): the model is exported to
// the deployment IR in memory, planned once on the backend, and run over the test set; its accuracy is stored
// next to the fake-quant accuracy it must equal, with its latency per image.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/data/dataset.h"
#include "core/nn/network.h"

namespace r2q::backends {
class Plan;
}
namespace r2q::deploy {
struct Model;
}

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

// A deployment model planned on a backend: `engine` "" is the backend's default. Throws InputError when the
// backend is unknown or unavailable, the engine unknown or a layer unsupported. `facts` receives the backend,
// engine, threads, weight bytes, per-layer paths and the model's float-input layers.
std::unique_ptr<backends::Plan> plan_deployed(const deploy::Model& model, const std::string& backend,
                                              const std::string& engine, int threads, nlohmann::json& facts);

// Per test image, in test-set order: the label, the deployed model's prediction (the first largest logit),
// the reference model's, and the logits when asked for.
struct DeployedPredictions {
  std::vector<std::int64_t> labels;
  std::vector<std::int64_t> predictions;
  std::vector<std::int64_t> reference;  // empty without a reference model
  std::vector<float> logits;            // [images, classes] row-major; empty unless keep_logits
  std::int64_t classes = 0;
  std::int64_t correct() const;   // predictions equal to the label
  std::int64_t agreeing() const;  // predictions equal to the reference's
};

// Runs `test` through `plan` in batches of `batch_size`; with `reference` (a LibTorch model in eval mode,
// on the CPU) also its predictions on the same images, the fake-quant side of the agreement.
DeployedPredictions predict_deployed(backends::Plan& plan, const data::Dataset& test, std::int64_t batch_size,
                                     nn::Network* reference, bool keep_logits);

// Checks, before any training, that `backend` exists and can run here and that `method` can be exported (a
// method with binary activations, XNOR-Net, cannot). Throws InputError naming the problem.
void check_deployable(const std::string& backend, const std::string& method);

}  // namespace r2q::sweep
