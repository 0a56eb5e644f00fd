// Environment capture.
#include "core/util/environment.h"

#include <ATen/Parallel.h>
#include <oneapi/dnnl/dnnl.h>
#include <sys/utsname.h>
#include <torch/version.h>
#include <unistd.h>

#include "core/store/sqlite.h"
#include "core/util/build_info.h"
#include "core/util/cpu.h"
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

nlohmann::json capture_environment() {
  const CpuInfo& cpu = cpu_info();
  struct utsname u {};
  uname(&u);
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
  };
}

}  // namespace r2q
