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

}  // namespace r2q
