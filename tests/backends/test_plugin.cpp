// A backend plugin for the tests of the plugin ABI (plugin_test.cpp): the CPU backend under the name
// "cpu-plugin", behind the C table. R2Q_TEST_PLUGIN_API=N makes it claim API version N (to test the host's
// refusal).
#include <cstdlib>
#include <memory>
#include <string>

#include "backends/cpu/cpu_backend.h"
#include "backends/plugin/plugin_export.h"

namespace {

class RenamedCpu : public r2q::backends::Backend {
 public:
  std::string name() const override { return "cpu-plugin"; }
  std::string available() const override { return cpu_.available(); }
  r2q::backends::DeviceInfo device() const override { return cpu_.device(); }
  std::vector<std::string> engines() const override { return cpu_.engines(); }
  std::string supports(const r2q::deploy::Model& model, std::size_t layer) const override {
    return cpu_.supports(model, layer);
  }
  std::unique_ptr<r2q::backends::Plan> plan(const r2q::deploy::Model& model,
                                            const r2q::backends::PlanOptions& options) const override {
    return cpu_.plan(model, options);
  }

 private:
  r2q::backends::cpu::CpuBackend cpu_;
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const r2q_backend_v1* r2q_backend_init(uint32_t) {
  static const r2q_backend_v1* table = r2q::backends::plugin::export_backend(std::make_unique<RenamedCpu>());
  static r2q_backend_v1 other_version;
  if (const char* v = std::getenv("R2Q_TEST_PLUGIN_API"); v && *v) {
    other_version = *table;
    other_version.api_version = static_cast<uint32_t>(std::stoul(v));
    return &other_version;
  }
  return table;
}
