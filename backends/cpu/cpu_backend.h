// The CPU deployment backend: its engines by name (shift-add, onednn-fp32, onednn-int8).
#pragma once

#include <memory>

#include "backends/backend.h"

namespace r2q::backends::cpu {

// Plans a validated model for one engine.
using EngineFactory = std::unique_ptr<Plan> (*)(const deploy::Model& model, const PlanOptions& options);

struct Engine {
  std::string description;
  EngineFactory plan = nullptr;
};

using EngineRegistry = Registry<Engine>;

// The CPU backend's engines, registered by register_engines() on first use. A new engine (oneDNN fp32, int8)
// is one more entry there.
EngineRegistry& engine_registry();
void register_engines(EngineRegistry& registry);

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string available() const override { return ""; }  // the scalar kernel runs everywhere
  DeviceInfo device() const override;
  std::vector<std::string> engines() const override;
  std::string supports(const deploy::Model& model, std::size_t layer) const override;
  std::unique_ptr<Plan> plan(const deploy::Model& model, const PlanOptions& options) const override;
};

}  // namespace r2q::backends::cpu
