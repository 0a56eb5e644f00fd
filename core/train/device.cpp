// Training devices. The CUDA details need a CUDA LibTorch's headers; with Debian's CPU LibTorch only the CPU
// is listed.
#include "core/train/device.h"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>

#ifdef R2Q_LIBTORCH_CUDA  // a CUDA LibTorch (CMake found its torch_cuda library)
#include <ATen/cuda/CUDAContext.h>
#endif

namespace r2q::train {

std::vector<std::string> training_devices() {
  std::vector<std::string> out = {"cpu"};
#ifdef R2Q_LIBTORCH_CUDA
  if (torch::cuda::is_available())
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i)
      out.push_back("cuda:" + std::to_string(i) + " (" + at::cuda::getDeviceProperties(i)->name + ")");
#endif
  return out;
}

nlohmann::json device_facts(const torch::Device& device, bool deterministic) {
  if (!device.is_cuda()) return {{"type", "cpu"}};
  nlohmann::json facts = {{"type", "cuda"}, {"index", device.index()}, {"deterministic", deterministic}};
#ifdef R2Q_LIBTORCH_CUDA
  const cudaDeviceProp* p = at::cuda::getDeviceProperties(device.index());
  facts["name"] = p->name;
  facts["compute_capability"] = std::to_string(p->major) + "." + std::to_string(p->minor);
  facts["memory_bytes"] = p->totalGlobalMem;
#endif
  const auto& hooks = at::detail::getCUDAHooks();
  if (hooks.hasCuDNN()) facts["cudnn"] = hooks.versionCuDNN();
  facts["libtorch_config"] = hooks.showConfig();
  return facts;
}

void set_deterministic(bool on) {
  at::globalContext().setDeterministicCuDNN(on);
  at::globalContext().setBenchmarkCuDNN(!on);
}

}  // namespace r2q::train
