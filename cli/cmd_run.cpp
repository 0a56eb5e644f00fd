// r2q run SPEC --set path=value ...: one run, the spec's base with overrides.
#include <iostream>
#include <limits>

#include "cli/common.h"
#include "cli/progress.h"
#include "core/spec/spec.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "core/util/text.h"
#include "experiments/sweep.h"

namespace r2q::cli {

int cmd_run(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_db_option(options);
  options.add_options()("spec", po::value<std::string>()->required(),
                        "experiment spec (JSON); its base is used")(
      "set,s", po::value<std::vector<std::string>>()->composing()->value_name("PATH=VALUE"),
      "override a field (VALUE is JSON, or a plain string), e.g. --set train.lr=0.05")(
      "retry-failed", po::bool_switch(), "run it again if it failed before")(
      "threads,t", po::value<int>()->default_value(0), "CPU threads (0: the spec's value, else all cores)");
  po::positional_options_description positional;
  positional.add("spec", 1);
  po::variables_map vm;
  if (!parse("run", "SPEC [--set PATH=VALUE ...] [options]", args, options, positional, vm)) return kOk;

  const int threads = int_option(vm, "threads", 0, kMaxThreads);
  const std::string file = vm["spec"].as<std::string>();
  spec::Experiment exp = spec::load_experiment(file, {.max_runs = std::numeric_limits<std::size_t>::max()});
  const nlohmann::json base = exp.spec.contains("base") ? exp.spec["base"] : nlohmann::json::object();
  spec::RunSpec resolved = spec::resolve(base, file + ": base");
  std::vector<std::string> labels;
  if (vm.count("set")) {
    for (const auto& assignment : vm["set"].as<std::vector<std::string>>()) {
      auto eq = assignment.find('=');
      if (eq == std::string::npos || eq == 0)
        throw UsageError("--set " + assignment + ": expected PATH=VALUE, e.g. --set train.lr=0.05");
      std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
      nlohmann::json value;
      if (json_depth(text) > kMaxJsonDepth)
        throw UsageError("--set " + path + ": the value is JSON nested deeper than " +
                         std::to_string(kMaxJsonDepth) + " levels");
      try {
        value = nlohmann::json::parse(text);
      } catch (const nlohmann::json::exception&) {
        value = text;  // a bare word is a string: --set quant.method=fp32
      }
      spec::apply_override(resolved.config, resolved.execution, path, value, "--set " + path);
      labels.push_back(path + "=" + value.dump());
    }
  }
  std::string label;
  for (const auto& l : labels) label += (label.empty() ? "" : " ") + l;
  exp.runs = {spec::finish(resolved.config, resolved.execution, label)};
  spec::add_teachers_and_dedupe(exp.runs);  // the teacher, when the run needs one, runs first

  const auto db = db_path(vm);
  store::Store store(db, store::Store::Mode::ReadWrite);
  sweep::SweepOptions sweep_options;
  sweep_options.threads = threads;
  sweep_options.retry_failed = vm["retry-failed"].as<bool>();
  sweep_options.stop = install_stop_handler();
  sweep_options.replace_experiment_runs = false;
  ConsoleProgress progress;
  auto summary = sweep::run_sweep(store, exp, sweep_options, progress);
  std::cout << exp.runs.back().key << "\n";
  if (summary.interrupted) return kInterrupted;
  return summary.failed || summary.skipped_failed ? kFailed : kOk;
}

}  // namespace r2q::cli
