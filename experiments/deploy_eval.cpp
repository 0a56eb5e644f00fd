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
#include "core/util/text.h"

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
    throw InputError("backend " + quoted_value(backend) + " is not available here: " + why);
  if (quant::method_registry().get(method).binary_activations)
    throw InputError("quant.method " + quoted_value(method) +
                     " cannot be deployed: its binary activations are scaled by an input-dependent factor");
}

std::int64_t DeployedPredictions::correct() const {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < predictions.size(); ++i) n += predictions[i] == labels[i];
  return n;
}

std::int64_t DeployedPredictions::agreeing() const {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < predictions.size() && i < reference.size(); ++i)
    n += predictions[i] == reference[i];
  return n;
}

std::unique_ptr<backends::Plan> plan_deployed(const deploy::Model& model, const std::string& backend_name,
                                              const std::string& engine, int threads, nlohmann::json& facts) {
  backends::Backend& backend = backends::get(backend_name);
  if (const std::string why = backend.available(); !why.empty())
    throw InputError("backend " + quoted_value(backend_name) + " is not available here: " + why);
  backends::PlanOptions plan_options;
  plan_options.engine = engine.empty() ? backend.engines().front() : engine;
  plan_options.threads = std::max(1, threads);
  std::unique_ptr<backends::Plan> plan = backend.plan(model, plan_options);
  facts = {{"backend", backend.name()},
           {"engine", plan->engine()},
           {"threads", plan_options.threads},
           {"weight_bytes", plan->weight_bytes()},
           {"layers", plan->layer_paths()}};
  if (model.metadata.contains("float_inputs")) facts["float_inputs"] = model.metadata["float_inputs"];
  return plan;
}

DeployedPredictions predict_deployed(backends::Plan& plan, const data::Dataset& test, std::int64_t batch_size,
                                     nn::Network* reference, bool keep_logits) {
  DeployedPredictions out;
  if (test.size() == 0) return out;
  torch::NoGradGuard no_grad;
  data::BatchLoader loader(test, {.batch_size = batch_size});
  for (std::int64_t b = 0; b < loader.size(); ++b) {
    data::Batch batch = loader[b];
    batch.images = batch.images.cpu();
    const torch::Tensor labels = batch.labels.cpu().contiguous();
    const deploy::FloatBatch& logits = plan.run(to_batch(batch.images));
    out.classes = logits.shape.c;
    const std::vector<std::int64_t> deployed_class = predictions(logits);
    out.predictions.insert(out.predictions.end(), deployed_class.begin(), deployed_class.end());
    const std::int64_t* label = labels.data_ptr<std::int64_t>();
    out.labels.insert(out.labels.end(), label, label + labels.size(0));
    if (keep_logits) out.logits.insert(out.logits.end(), logits.data.begin(), logits.data.end());
    if (reference) {
      const torch::Tensor torch_class = reference->forward(batch.images).argmax(1).contiguous();
      const std::int64_t* c = torch_class.data_ptr<std::int64_t>();
      out.reference.insert(out.reference.end(), c, c + torch_class.size(0));
    }
  }
  return out;
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
  DeployEvalResult result;
  std::unique_ptr<backends::Plan> plan =
      plan_deployed(deployed, options.backend, "", options.threads, result.facts);
  if (test.size() == 0) return result;

  const DeployedPredictions p = predict_deployed(*plan, test, options.batch_size, &model, false);
  result.accuracy = static_cast<double>(p.correct()) / static_cast<double>(test.size());
  result.agreement = static_cast<double>(p.agreeing()) / static_cast<double>(test.size());

  // Latency: batch-1 runs of the first test images, on a plan already sized for batch 1 by the warm-up.
  using Clock = std::chrono::steady_clock;
  deploy::FloatBatch first;
  {
    torch::NoGradGuard no_grad;
    first = to_batch(data::BatchLoader(test, {.batch_size = options.batch_size})[0].images.cpu());
  }
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
