// The registry of deployment backends: every built-in backend, registered in one place.
#include <memory>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/plugin/plugin_backend.h"

namespace r2q::backends {

void register_builtins(BackendRegistry& r) {
  auto cpu = std::make_unique<cpu::CpuBackend>();
  const std::string name = cpu->name();
  r.add(name, std::move(cpu));
  // Plugins (backends/plugin): libraries loaded at run time through a versioned C ABI, so that this binary
  // runs without their runtimes. "cuda" is expected: without its library it is listed as unavailable, saying
  // why.
  plugin::register_plugins(r, {"cuda"});
}

BackendRegistry& backend_registry() {
  static BackendRegistry registry = [] {
    BackendRegistry r("backend");
    register_builtins(r);
    return r;
  }();
  return registry;
}

Backend& get(const std::string& name) {
  return *backend_registry().get(name);
}

std::vector<Backend*> all() {
  std::vector<Backend*> out;
  for (const std::string& name : backend_registry().names()) out.push_back(&get(name));
  return out;
}

}  // namespace r2q::backends
