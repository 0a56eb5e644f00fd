// Portable math.
#include "core/util/math_mode.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q {

std::string to_string(MathMode mode) {
  return mode == MathMode::Portable ? "portable" : "native";
}

MathMode parse_math_mode(const std::string& text, const std::string& what) {
  if (text == "native") return MathMode::Native;
  if (text == "portable") return MathMode::Portable;
  throw InputError(what + ": " + quoted_value(text) + " is not a math mode (known: native, portable)");
}

const std::vector<std::pair<std::string, std::string>>& portable_variables() {
  // AVX2 + FMA: every x86-64 CPU r2q supports has it. OpenBLAS's Zen core type is its AVX2/FMA kernels with
  // Zen's blocking, on any vendor's CPU (the blocking sets the summation order, so it is pinned too);
  // experiments/nightly.golden.json was made on a Zen 3, where this is what OpenBLAS picks by itself.
  static const std::vector<std::pair<std::string, std::string>> variables = {
      {"ATEN_CPU_CAPABILITY", "avx2"}, {"ONEDNN_MAX_CPU_ISA", "AVX2"}, {"DNNL_MAX_CPU_ISA", "AVX2"},
      {"OPENBLAS_CORETYPE", "ZEN"},    {"R2Q_KERNEL_ISA", "avx2"},
  };
  return variables;
}

MathMode current_math_mode() {
  const char* value = std::getenv(kMathVariable);
  if (value == nullptr || *value == '\0') return MathMode::Native;
  return parse_math_mode(value, kMathVariable);
}

bool portable_environment_is_set() {
  for (const auto& [name, value] : portable_variables()) {
    const char* now = std::getenv(name.c_str());
    if (now == nullptr || value != now) return false;
  }
  return true;
}

void apply_math_mode(MathMode mode) {
  ::setenv(kMathVariable, to_string(mode).c_str(), 1);
  if (mode == MathMode::Portable)
    for (const auto& [name, value] : portable_variables()) ::setenv(name.c_str(), value.c_str(), 1);
}

std::string restart_in_math_mode(MathMode mode, char** argv) {
  const bool restart = mode == MathMode::Portable && !portable_environment_is_set();
  apply_math_mode(mode);
  if (!restart) return {};
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ec.message();
  ::execv(self.c_str(), argv);
  return std::strerror(errno);
}

nlohmann::json math_environment() {
  nlohmann::json pinned = nlohmann::json::object();
  for (const auto& [name, value] : portable_variables())
    if (const char* now = std::getenv(name.c_str()); now != nullptr) pinned[name] = now;
  const char* mode = std::getenv(kMathVariable);
  return {{"mode", mode != nullptr && *mode != '\0' ? mode : "native"}, {"pinned", pinned}};
}

}  // namespace r2q
