// r2q export: a finished run's trained model, rebuilt from its stored config and checkpoint, written as a
// deployment model file (.r2q, docs/EXPORT_FORMAT.md).
#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "cli/run_model.h"
#include "core/deploy/model_file.h"
#include "core/nn/to_deploy.h"
#include "core/store/metric_names.h"
#include "core/store/store.h"
#include "core/util/build_info.h"
#include "core/util/error.h"
#include "core/util/output_file.h"

namespace r2q::cli {

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
  const std::filesystem::path checkpoint = finished_run_checkpoint(store, run);
  const OutputFile output("-o", vm["output"].as<std::string>(), {db, checkpoint});
  TrainedModel trained = load_trained_model(run, checkpoint);
  const quant::QuantConfig& quant = trained.config.quant;
  const std::string& model_name = trained.config.model;
  const nn::InputShape& shape = trained.shape;
  nn::Network& model = *trained.model;

  deploy::Model deployed;
  try {
    deployed = nn::to_deploy_model(model, {shape.channels, shape.height, shape.width});
  } catch (const InputError& e) {
    throw InputError(where + " (model " + model_name + ", method " + quant.method + "): " + e.what());
  }
  deployed.metadata["run_key"] = run.key;
  deployed.metadata["run_config"] = run.config;
  deployed.metadata["r2q_version"] = build_version();
  deployed.metadata["r2q_git_commit"] = build_git_commit();
  deployed.metadata["model"] = model_name;
  deployed.metadata["dataset"] = trained.config.dataset.name;
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
