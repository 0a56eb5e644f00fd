// r2q backends: every deployment backend, whether it can run here (and why not), its device and its engines.
#include <iostream>

#include "backends/backend.h"
#include "cli/common.h"
#include "core/util/text.h"

namespace r2q::cli {

int cmd_backends(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("format,f", po::value<std::string>()->default_value("text"), "text or json");
  po::variables_map vm;
  if (!parse("backends", "[options]", args, options, {}, vm)) return kOk;
  const std::string format = vm["format"].as<std::string>();
  if (format != "text" && format != "json")
    throw UsageError("--format: " + quoted_value(format) + " (expected text or json)");

  nlohmann::json list = nlohmann::json::array();
  for (const backends::Backend* b : backends::all()) {
    const std::string why_not = b->available();
    const backends::DeviceInfo device = b->device();
    list.push_back({{"name", b->name()},
                    {"available", why_not.empty()},
                    {"reason", why_not},
                    {"device",
                     {{"name", device.name},
                      {"description", device.description},
                      {"features", device.features},
                      {"threads", device.threads}}},
                    {"engines", b->engines()}});
  }
  if (format == "json") {
    std::cout << list.dump(2) << "\n";
    return kOk;
  }
  for (const auto& b : list) {
    if (!b["available"].get<bool>()) {
      std::cout << b["name"].get<std::string>() << ": not available: " << b["reason"].get<std::string>()
                << "\n";
      continue;
    }
    std::cout << b["name"].get<std::string>() << ": available"
              << "\n  device   " << b["device"]["description"].get<std::string>() << ", "
              << b["device"]["threads"].get<int>() << " threads, "
              << join(b["device"]["features"].get<std::vector<std::string>>(), " ") << "\n  engines  "
              << join(b["engines"].get<std::vector<std::string>>(), ", ") << "\n";
  }
  return kOk;
}

}  // namespace r2q::cli
