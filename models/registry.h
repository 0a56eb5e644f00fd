// Models by name.
#pragma once

#include <functional>
#include <string>

#include "core/quant/layers.h"
#include "core/util/registry.h"
#include "models/model.h"

namespace r2q::models {

struct ModelEntry {
  std::string description;
  std::function<NetworkPtr(const InputShape&, const quant::LayerFactory&)> build;
};

Registry<ModelEntry>& model_registry();
void register_builtins(Registry<ModelEntry>& registry);

// Builds a model by name with every conv and linear layer made by `layers` (parameters are initialised from
// torch's global generator: seed it first).
NetworkPtr build_model(const std::string& name, const InputShape& shape,
                       const quant::LayerFactory& layers = {});

}  // namespace r2q::models
