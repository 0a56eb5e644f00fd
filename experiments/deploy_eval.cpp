// Evaluation of a trained model on a deployment backend.
#include "experiments/deploy_eval.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "backends/backend.h"
#include "core/data/loader.h"
#include "core/nn/to_deploy.h"
#include "core/quant/registry.h"
#include "core/util/error.h"

namespace r2q::sweep {
namespace {

// float32 [n, C, H, W] pixels as a deploy batch (a copy: plans take their own layout).
deploy::FloatBatch to_batch(const torch::Tensor& pixels) {
  const torch::Tensor x = pixels.to(torch::kFloat32).contiguous();
  deploy::FloatBatch b(x.size(0), {x.size(1), x.size(2), x.size(3)});
  std::memcpy(b.data.data(), x.data_ptr<float>(), b.data.size() * sizeof(float));
  return b;
}

// The predicted class of each row of logits [n, classes, 1, 1].
std::vector<std::int64_t> predictions(const deploy::FloatBatch& logits) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(logits.n));
  const std::int64_t classes = logits.shape.c;
  for (std::int64_t i = 0; i < logits.n; ++i) {
    const float* row = logits.data.data() + i * classes;
    out[static_cast<std::size_t>(i)] = std::max_element(row, row + classes) - row;
  }
  return out;
}

}  // namespace

void check_deployable(const std::string& backend, const std::string& method) {
  backends::Backend& b = backends::get(backend);
  if (const std::string why = b.available(); !why.empty())
    throw InputError("backend \"" + backend + "\" is not available here: " + why);
  if (quant::method_registry().get(method).binary_activations)
    throw InputError("quant.method \"" + method +
                     "\" cannot be deployed: its binary activations are scaled by an input-dependent factor");
}

DeployEvalResult evaluate_deployed(nn::Network& model, const nn::InputShape& input, const data::Dataset& test,
                                   const DeployEvalOptions& options) {
  const bool was_training = model.is_training();
  model.eval();
  // The deployment engines are the host's: the exported model, its agreement check and the test images all
  // live there (a run trained on a GPU has finished with it by now).
  model.to(torch::kCPU);
  struct Restore {
    nn::Network& m;
    bool training;
    ~Restore() { m.train(training); }
  } restore{model, was_training};

  const deploy::Model deployed = nn::to_deploy_model(model, {input.channels, input.height, input.width});
  backends::Backend& backend = backends::get(options.backend);
  backends::PlanOptions plan_options;
  plan_options.engine = backend.engines().front();
  plan_options.threads = std::max(1, options.threads);
  std::unique_ptr<backends::Plan> plan = backend.plan(deployed, plan_options);

  DeployEvalResult result;
  std::vector<std::string> paths = plan->layer_paths();
  result.facts = {{"backend", backend.name()},
                  {"engine", plan->engine()},
                  {"threads", plan_options.threads},
                  {"weight_bytes", plan->weight_bytes()},
                  {"layers", paths}};
  if (deployed.metadata.contains("float_inputs"))
    result.facts["float_inputs"] = deployed.metadata["float_inputs"];
  if (test.size() == 0) return result;

  torch::NoGradGuard no_grad;
  data::BatchLoader loader(test, {.batch_size = options.batch_size});
  std::int64_t hits = 0, agree = 0;
  deploy::FloatBatch first;
  for (std::int64_t b = 0; b < loader.size(); ++b) {
    data::Batch batch = loader[b];
    batch.images = batch.images.cpu();
    batch.labels = batch.labels.cpu();
    const deploy::FloatBatch x = to_batch(batch.images);
    if (b == 0) first = x;
    const std::vector<std::int64_t> deployed_class = predictions(plan->run(x));
    const torch::Tensor torch_class = model.forward(batch.images).argmax(1).contiguous();
    const torch::Tensor labels = batch.labels.contiguous();
    for (std::size_t i = 0; i < deployed_class.size(); ++i) {
      hits += deployed_class[i] == labels.data_ptr<std::int64_t>()[i];
      agree += deployed_class[i] == torch_class.data_ptr<std::int64_t>()[i];
    }
  }
  result.accuracy = static_cast<double>(hits) / static_cast<double>(test.size());
  result.agreement = static_cast<double>(agree) / static_cast<double>(test.size());

  // Latency: batch-1 runs of the first test images, on a plan already sized for batch 1 by the warm-up.
  using Clock = std::chrono::steady_clock;
  const std::int64_t timed = std::max<std::int64_t>(1, std::min(options.latency_images, first.n));
  deploy::FloatBatch one(1, first.shape);
  const std::size_t image = one.data.size();
  std::vector<double> micros;
  for (std::int64_t i = -5; i < timed; ++i) {
    const std::int64_t row = std::max<std::int64_t>(i, 0) % first.n;
    std::copy_n(first.data.begin() + static_cast<std::ptrdiff_t>(row * image), image, one.data.begin());
    const auto start = Clock::now();
    plan->run(one);
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (i >= 0) micros.push_back(us);
  }
  std::nth_element(micros.begin(), micros.begin() + micros.size() / 2, micros.end());
  result.latency_us = micros[micros.size() / 2];
  result.facts["latency"] = {{"images", timed}, {"batch", 1}, {"statistic", "median"}};
  return result;
}

}  // namespace r2q::sweep
