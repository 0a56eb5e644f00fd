// r2q version: what this binary is and what it runs on.
#include <iostream>

#include "cli/common.h"
#include "core/data/registry.h"
#include "core/quant/registry.h"
#include "core/train/device.h"
#include "core/util/environment.h"
#include "core/util/text.h"
#include "models/registry.h"

namespace r2q::cli {

int cmd_version(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("format,f", po::value<std::string>()->default_value("text"), "text or json");
  po::variables_map vm;
  if (!parse("version", "[options]", args, options, {}, vm)) return kOk;
  nlohmann::json env = capture_environment();
  env["datasets"] = data::dataset_registry().names();
  env["models"] = models::model_registry().names();
  env["quantizers"] = quant::method_registry().names();
  env["training_devices"] = train::training_devices();
  const std::string format = vm["format"].as<std::string>();
  if (format == "json") {
    std::cout << env.dump(2) << "\n";
    return kOk;
  }
  if (format != "text") throw UsageError("--format: " + quoted_value(format) + " (expected text or json)");
  const auto& r = env["r2q"];
  std::cout << "r2q " << r["version"].get<std::string>() << " ("
            << r["git_commit"].get<std::string>().substr(0, 12)
            << (r["git_dirty"].get<bool>() ? ", dirty" : "") << ")\n"
            << "LibTorch " << env["libtorch"].get<std::string>() << ", oneDNN "
            << env["onednn"].get<std::string>() << ", SQLite " << env["sqlite"].get<std::string>() << "\n"
            << "compiler " << env["compiler"].get<std::string>() << "\n"
            << "CPU " << env["cpu"]["model"].get<std::string>() << ", " << env["cpu"]["logical_cores"]
            << " cores, ISA " << join(env["cpu"]["isa"].get<std::vector<std::string>>(), " ") << "\n"
            << "math " << env["math"]["mode"].get<std::string>() << " (LibTorch kernels "
            << env["math"]["aten_cpu_capability"].get<std::string>() << ", oneDNN "
            << env["math"]["onednn_isa"].get<std::string>() << ")\n"
            << "training devices: " << join(env["training_devices"].get<std::vector<std::string>>(), ", ")
            << "\n"
            << "datasets: " << join(env["datasets"].get<std::vector<std::string>>(), ", ") << "\n"
            << "models: " << join(env["models"].get<std::vector<std::string>>(), ", ") << "\n"
            << "quantizers: " << join(env["quantizers"].get<std::vector<std::string>>(), ", ") << "\n";
  return kOk;
}

}  // namespace r2q::cli
