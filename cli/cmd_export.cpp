// r2q export: a finished run's trained model, rebuilt from its stored config and checkpoint, written as a
// deployment model file (.r2q, docs/EXPORT_FORMAT.md).
#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "core/data/dataset.h"
#include "core/deploy/model_file.h"
#include "core/nn/to_deploy.h"
#include "core/quant/layers.h"
#include "core/spec/run_config.h"
#include "core/store/checkpoints.h"
#include "core/store/metric_names.h"
#include "core/store/store.h"
#include "core/train/checkpoint.h"
#include "core/util/build_info.h"
#include "core/util/error.h"
#include "core/util/output_file.h"
#include "models/registry.h"

namespace r2q::cli {
namespace {

using nlohmann::json;

std::string short_key(const std::string& key) {
  return key.substr(0, 12);
}

// The run whose key is `wanted` or starts with it; errors say what the store has.
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
    throw InputError("no run with key \"" + wanted + "\" in " + db + " (" +
                     (finished.empty() ? "it has no finished run"
                                       : "finished runs: " + known + "; `r2q list` shows them all") +
                     ")");
  }
  std::string listed;
  for (std::size_t i = 0; i < matches.size() && i < 10; ++i)
    listed += std::string(i ? ", " : "") + short_key(matches[i].key) + " (" +
              store::to_string(matches[i].status) + ")";
  if (matches.size() > 10) listed += ", ...";
  throw InputError("run key prefix \"" + wanted + "\" is ambiguous in " + db + ": it matches " +
                   std::to_string(matches.size()) + " runs (" + listed + "); give more of the key");
}

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

int cmd_export(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_db_option(options);
  options.add_options()("run", po::value<std::string>()->required()->value_name("RUN_KEY"),
                        "the run (its key, or a unique prefix of it)")(
      "output,o", po::value<std::string>()->required()->value_name("FILE"), "the model file to write (.r2q)");
  po::positional_options_description positional;
  positional.add("run", 1);
  po::variables_map vm;
  if (!parse("export", "RUN_KEY -o FILE [options]", args, options, positional, vm)) return kOk;

  const auto db = db_path(vm);
  store::Store store(db, store::Store::Mode::ReadOnly);
  const store::RunRecord run = find_run(store, vm["run"].as<std::string>());
  const std::string where = "run " + short_key(run.key);
  if (run.status != store::RunStatus::Finished)
    throw InputError(where + " is " + store::to_string(run.status) +
                     "; only a finished run can be exported (`r2q status` shows progress)");
  const std::filesystem::path checkpoint = store::run_checkpoint(store, run);
  if (!std::filesystem::is_regular_file(checkpoint))
    throw InputError(where + ": its checkpoint " + checkpoint.string() + " is missing");
  const OutputFile output("-o", vm["output"].as<std::string>(), {db, checkpoint});

  // The dataset's root as the run's sweep resolved it (an execution setting, kept in its environment).
  const json execution = run.environment.value("execution", json::object());
  spec::RunConfig c;
  try {
    c = spec::run_config(run.config, execution);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
  const quant::QuantConfig& quant = c.quant;
  const std::string& model_name = c.model;
  nn::InputShape shape;
  try {
    shape = input_shape(c.dataset);
  } catch (const InputError& e) {
    throw InputError(where + ": its dataset gives the model's input shape: " + e.what());
  }
  models::NetworkPtr model = models::build_model(model_name, shape, quant::LayerFactory(quant));
  train::load_weights(checkpoint, *model);
  model->eval();

  deploy::Model deployed;
  try {
    deployed = nn::to_deploy_model(*model, {shape.channels, shape.height, shape.width});
  } catch (const InputError& e) {
    throw InputError(where + " (model " + model_name + ", method " + quant.method + "): " + e.what());
  }
  deployed.metadata["run_key"] = run.key;
  deployed.metadata["run_config"] = run.config;
  deployed.metadata["r2q_version"] = build_version();
  deployed.metadata["r2q_git_commit"] = build_git_commit();
  deployed.metadata["model"] = model_name;
  deployed.metadata["dataset"] = c.dataset.name;
  const auto finals = store.final_metrics(run.key);
  if (auto it = finals.find(metric::kTestAcc); it != finals.end()) deployed.metadata["test_acc"] = it->second;

  const std::string bytes = deploy::encode_model(deployed, output.path().string());
  output.write(
      [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
  int integer_layers = 0;
  for (const auto& l : deployed.layers)
    if ((l.op == deploy::Op::Conv2d || l.op == deploy::Op::Linear) && l.conv.integer()) ++integer_layers;
  std::ostream& say = output.is_stdout() ? std::cerr : std::cout;
  say << "wrote " << output.path().string() << ": " << where << " (" << model_name << ", " << quant.method
      << "), " << deployed.layers.size() << " layers, " << integer_layers << " with integer accumulators\n";
  if (deployed.metadata.contains("float_inputs"))
    for (const auto& f : deployed.metadata["float_inputs"])
      say << "  float input: " << f["layer"].get<std::string>() << ": " << f["reason"].get<std::string>()
          << "\n";
  return kOk;
}

}  // namespace r2q::cli
