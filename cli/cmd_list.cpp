// r2q list: runs with their config and final metrics, as a table or as JSON.
#include <cstdio>
#include <iomanip>
#include <iostream>

#include "cli/common.h"
#include "core/store/metric_names.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::cli {
namespace {

std::string summary_of(const nlohmann::json& c) {
  const auto& q = c["quant"];
  std::string bits = q["method"] == "fp32" ? "" : " W" + q["weight_bits"].dump() + "A" + q["act_bits"].dump();
  return c["model"]["name"].get<std::string>() + " " + q["method"].get<std::string>() + bits + " " +
         c["dataset"]["name"].get<std::string>() + " seed " + c["seed"].dump();
}

}  // namespace

int cmd_list(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_db_option(options);
  options.add_options()("experiment,e", po::value<std::string>(), "only the runs of this experiment")(
      "status", po::value<std::string>(), "only runs with this status (pending, running, finished, failed)")(
      "format,f", po::value<std::string>()->default_value("table"), "table or json");
  po::variables_map vm;
  if (!parse("list", "[options]", args, options, {}, vm)) return kOk;
  const std::string format = vm["format"].as<std::string>();
  if (format != "table" && format != "json")
    throw UsageError("--format: " + quoted_value(format) + " (expected table or json)");
  std::optional<store::RunStatus> only;
  if (vm.count("status")) {
    try {
      only = store::parse_status(vm["status"].as<std::string>());
    } catch (const InputError&) {
      throw UsageError("--status: " + quoted_value(vm["status"].as<std::string>()) +
                       " (expected pending, running, finished or failed)");
    }
  }
  store::Store store(db_path(vm), store::Store::Mode::ReadOnly);
  std::optional<std::string> experiment;
  if (vm.count("experiment")) experiment = vm["experiment"].as<std::string>();

  auto runs = store.runs(experiment);
  std::erase_if(runs, [&](const store::RunRecord& r) { return only && r.status != *only; });
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : runs) {
      auto experiments = store.experiments_of(r.key);
      nlohmann::json metrics = nlohmann::json::object();
      for (const auto& [name, value] : store.final_metrics(r.key)) metrics[name] = value;
      out.push_back({{"run_key", r.key},
                     {"experiment", experiments.empty() ? nlohmann::json() : nlohmann::json(experiments[0])},
                     {"experiments", experiments},
                     {"status", store::to_string(r.status)},
                     {"attempt", r.attempt},
                     {"epoch", r.epoch},
                     {"config", r.config},
                     {"metrics", metrics},
                     {"error", r.error ? nlohmann::json(*r.error) : nlohmann::json()},
                     {"git_commit", r.git_commit ? nlohmann::json(*r.git_commit) : nlohmann::json()},
                     {"git_dirty", r.git_dirty},
                     {"started", r.started ? nlohmann::json(*r.started) : nlohmann::json()},
                     {"finished", r.finished ? nlohmann::json(*r.finished) : nlohmann::json()}});
    }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  std::cout << std::left << std::setw(14) << "run key" << std::setw(10) << "status" << std::setw(8)
            << "epochs" << std::setw(10) << "test acc"
            << "config\n";
  for (const auto& r : runs) {
    auto finals = store.final_metrics(r.key);
    std::string acc = "–";
    if (auto it = finals.find(metric::kTestAcc); it != finals.end()) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%.2f%%", 100 * it->second);
      acc = buf;
    }
    std::string epochs = std::to_string(r.epoch) + "/" + r.config["train"]["epochs"].dump();
    std::cout << std::left << std::setw(14) << r.key.substr(0, 12) << std::setw(10)
              << store::to_string(r.status) << std::setw(8) << epochs << std::setw(10) << acc
              << summary_of(r.config) << "\n";
  }
  return kOk;
}

}  // namespace r2q::cli
