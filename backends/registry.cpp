// The registry of deployment backends: every built-in backend, registered in one place.
#include <memory>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"

namespace r2q::backends {

void register_builtins(BackendRegistry& r) {
  auto cpu = std::make_unique<cpu::CpuBackend>();
  const std::string name = cpu->name();
  r.add(name, std::move(cpu));
  // "cuda" is not built in: it will be a plugin library loaded at run time (DESIGN §6, ggml-style versioned
  // C ABI), registered here when its library is found, so that this binary runs without the CUDA runtime.
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
