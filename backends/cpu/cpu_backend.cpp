// The CPU backend: device info from CPUID, engines by name, layer support.
#include "backends/cpu/cpu_backend.h"

#include "backends/cpu/onednn_engine.h"
#include "backends/cpu/shift_add_engine.h"
#include "core/util/cpu.h"
#include "core/util/error.h"

namespace r2q::backends::cpu {

void register_engines(EngineRegistry& r) {
  r.add("shift-add",
        {"odd bit-plane weights x unsigned codes through the AND/popcount kernels (scalar, AVX2, AVX-512); "
         "every other layer through plain loops",
         plan_shift_add});
  r.add("onednn-fp32",
        {"every conv/linear as a oneDNN f32 convolution / inner product on dequantised weights, the epilogue "
         "fused as post-ops (the fp32 reference for speed); every other layer through plain loops",
         plan_onednn_fp32});
  r.add("onednn-int8",
        {"integer conv/linear as oneDNN u8/s8 x s8 -> s32 convolution / inner product (VNNI/AMX where "
         "present), accumulators equal to the reference's; float layers and other ops through plain loops",
         plan_onednn_int8});
}

EngineRegistry& engine_registry() {
  static EngineRegistry registry = [] {
    EngineRegistry r("cpu engine");
    register_engines(r);
    return r;
  }();
  return registry;
}

DeviceInfo CpuBackend::device() const {
  const CpuInfo& cpu = cpu_info();
  return {"cpu", cpu.model, cpu.flags(), cpu.logical_cores};
}

std::vector<std::string> CpuBackend::engines() const {
  // The default engine first, as documented at Backend::engines(); the rest in name order.
  std::vector<std::string> names = {PlanOptions{}.engine};
  for (const std::string& name : engine_registry().names())
    if (name != names.front()) names.push_back(name);
  return names;
}

std::string CpuBackend::supports(const deploy::Model& model, std::size_t layer) const {
  if (layer >= model.layers.size())
    return "layer " + std::to_string(layer) + " does not exist (the model has " +
           std::to_string(model.layers.size()) + " layers)";
  // The shift-add engine runs every op of the IR: what its kernels cannot take (int8 or float weights,
  // signed or float inputs, more than 4 weight bits) goes through plain loops, so nothing is refused.
  return "";
}

std::unique_ptr<Plan> CpuBackend::plan(const deploy::Model& model, const PlanOptions& options) const {
  const Engine& engine = engine_registry().get(options.engine);  // lists the known engines
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const std::string why = supports(model, i);
    if (!why.empty()) throw InputError("cpu backend: " + why);
  }
  return engine.plan(model, options);
}

}  // namespace r2q::backends::cpu
