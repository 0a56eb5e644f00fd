// The environment a result was produced in: code version, library versions, compiler, CPU, host. Stored with
// every run so that any number can be traced to what produced it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace r2q {

nlohmann::json capture_environment();

// Library versions, each as "major.minor.patch".
std::string libtorch_version();
std::string onednn_version();
std::string compiler_version();
// The kernels the libraries dispatch to here: ATen's CPU capability ("default", "avx2", "avx512") and
// oneDNN's effective ISA ("avx2", "avx512_core_vnni", ...), after any cap (core/util/math_mode.h).
std::string aten_cpu_capability();
std::string onednn_effective_isa();

}  // namespace r2q
