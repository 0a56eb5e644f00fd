// Environment capture.
#include "core/util/environment.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <oneapi/dnnl/dnnl.h>
#include <sys/utsname.h>

#include <torch/version.h>
#include <unistd.h>
#include <cctype>

#include "core/store/sqlite.h"
#include "core/util/build_info.h"
#include "core/util/cpu.h"
#include "core/util/math_mode.h"
#include "core/util/process.h"

namespace r2q {

std::string libtorch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string compiler_version() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string aten_cpu_capability() {
  // at::native::get_cpu_capability() is not exported by LibTorch 1.13; its build summary says it.
  const std::string config = at::show_config();
  const std::string label = "CPU capability usage: ";
  const auto at = config.find(label);
  if (at == std::string::npos) return "unknown";
  std::string value = config.substr(at + label.size(), config.find('\n', at) - at - label.size());
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value;
}

std::string onednn_effective_isa() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}

nlohmann::json capture_environment() {
  const CpuInfo& cpu = cpu_info();
  struct utsname u {};
  uname(&u);
  nlohmann::json math = math_environment();
  // What the libraries actually chose, which shows that a pin took effect.
  math["aten_cpu_capability"] = aten_cpu_capability();
  math["onednn_isa"] = onednn_effective_isa();
  return {
      {"r2q",
       {{"version", build_version()}, {"git_commit", build_git_commit()}, {"git_dirty", build_git_dirty()}}},
      {"libtorch", libtorch_version()},
      {"onednn", onednn_version()},
      {"sqlite", store::sqlite_version()},
      {"compiler", compiler_version()},
      {"cpu", {{"model", cpu.model}, {"logical_cores", cpu.logical_cores}, {"isa", cpu.flags()}}},
      {"os", std::string(u.sysname) + " " + u.release + " " + u.machine},
      {"host", hostname()},
      {"torch_threads", at::get_num_threads()},
      {"math", math},
  };
}

}  // namespace r2q
