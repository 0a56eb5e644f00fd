// A stored run's trained model (from cmd_export.cpp, shared with cmd_eval.cpp).
#include "cli/run_model.h"

#include <torch/torch.h>

#include "core/data/dataset.h"
#include "core/quant/layers.h"
#include "core/store/checkpoints.h"
#include "core/train/checkpoint.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::cli {
namespace {

using nlohmann::json;

// The input shape the run trained on, from its dataset (mean and std come back with the checkpoint too).
nn::InputShape input_shape(const spec::DataConfig& d) {
  const data::DataInfo info = data::load({.name = d.name,
                                          .root = d.root,
                                          .train_limit = d.train_limit,
                                          .test_limit = d.test_limit,
                                          .val_size = d.val_size,
                                          .image_size = d.image_size})
                                  .info;
  return {info.channels, info.height, info.width, info.classes, info.mean, info.std};
}

}  // namespace

std::string short_key(const std::string& key) {
  return key.substr(0, 12);
}

store::RunRecord find_run(store::Store& store, const std::string& wanted) {
  if (wanted.empty()) throw InputError("RUN_KEY is empty");
  std::vector<store::RunRecord> matches, finished;
  for (auto& r : store.runs(std::nullopt, /*environment=*/true)) {
    if (r.key == wanted) return r;
    if (r.status == store::RunStatus::Finished) finished.push_back(r);
    if (r.key.starts_with(wanted)) matches.push_back(std::move(r));
  }
  if (matches.size() == 1) return matches[0];
  const std::string db = store.path().string();
  if (matches.empty()) {
    std::string known;
    for (std::size_t i = 0; i < finished.size() && i < 10; ++i)
      known += (i ? ", " : "") + short_key(finished[i].key);
    if (finished.size() > 10) known += ", ...";
    throw InputError("no run with key " + quoted_value(wanted) + " in " + db + " (" +
                     (finished.empty() ? "it has no finished run"
                                       : "finished runs: " + known + "; `r2q list` shows them all") +
                     ")");
  }
  std::string listed;
  for (std::size_t i = 0; i < matches.size() && i < 10; ++i)
    listed += std::string(i ? ", " : "") + short_key(matches[i].key) + " (" +
              store::to_string(matches[i].status) + ")";
  if (matches.size() > 10) listed += ", ...";
  throw InputError("run key prefix " + quoted_value(wanted) + " is ambiguous in " + db + ": it matches " +
                   std::to_string(matches.size()) + " runs (" + listed + "); give more of the key");
}

std::filesystem::path finished_run_checkpoint(const store::Store& store, const store::RunRecord& run) {
  const std::string where = "run " + short_key(run.key);
  if (run.status != store::RunStatus::Finished)
    throw InputError(where + " is " + store::to_string(run.status) +
                     "; only a finished run has a trained model (`r2q status` shows progress)");
  const std::filesystem::path checkpoint = store::run_checkpoint(store, run);
  if (!std::filesystem::is_regular_file(checkpoint))
    throw InputError(where + ": its checkpoint " + checkpoint.string() + " is missing");
  return checkpoint;
}

TrainedModel load_trained_model(const store::RunRecord& run, const std::filesystem::path& checkpoint) {
  const std::string where = "run " + short_key(run.key);
  // The dataset's root as the run's sweep resolved it (an execution setting, kept in its environment).
  const json execution = run.environment.value("execution", json::object());
  TrainedModel t;
  try {
    t.config = spec::run_config(run.config, execution);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
  try {
    t.shape = input_shape(t.config.dataset);
  } catch (const InputError& e) {
    throw InputError(where + ": its dataset gives the model's input shape: " + e.what());
  }
  t.model = models::build_model(t.config.model, t.shape, quant::LayerFactory(t.config.quant));
  train::load_weights(checkpoint, *t.model);
  t.model->eval();
  return t;
}

}  // namespace r2q::cli
