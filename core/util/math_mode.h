// Portable math: the same floating-point bits on every supported x86-64 CPU (docs/REPORTS.md,
// "Reproducibility").
//
// LibTorch, oneDNN and OpenBLAS each pick their CPU kernels at run time from the CPU they find: on an AVX-512
// machine they take other code paths than on an AVX2 one, with other summation orders, so the last bits of
// results differ, and a short training run amplifies those bits into points of accuracy. Portable math pins
// every such choice to one level that all supported machines (x86-64 with AVX2 and FMA) have; native, the
// default, lets each library take the fastest. The libraries read their variables when they load (OpenBLAS
// before main), so the mode is applied to the environment before r2q-engine starts: `r2q` sets it before it
// executes the engine, and the engine started directly with R2Q_MATH=portable re-executes itself once.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace r2q {

enum class MathMode { Native, Portable };

// The variable that carries the mode to r2q-engine and every worker it starts: "native" or "portable".
inline constexpr const char* kMathVariable = "R2Q_MATH";

std::string to_string(MathMode mode);
// "native" or "portable"; InputError naming `what` (e.g. "--math" or "R2Q_MATH") and the value otherwise.
MathMode parse_math_mode(const std::string& text, const std::string& what);

// The variables portable math sets, and their values: ATen's CPU capability, oneDNN's maximum ISA (both
// names it reads), OpenBLAS's core type, and r2q's own shift-add kernel ISA.
const std::vector<std::pair<std::string, std::string>>& portable_variables();

// The mode this process runs in: R2Q_MATH, native when unset. InputError for another value.
MathMode current_math_mode();

// True when every portable variable holds its pinned value in this process's environment.
bool portable_environment_is_set();

// Sets R2Q_MATH and, for portable, every pinned variable (overwriting what the user set, which would defeat
// the purpose); for native it removes nothing: a user's own ATEN_CPU_CAPABILITY stays theirs.
void apply_math_mode(MathMode mode);

// Puts this process in `mode` before its libraries choose kernels: applies the mode and, when that changed a
// pinned variable (portable, not yet set), replaces the process with itself (/proc/self/exe, same `argv`) so
// the libraries load again with the pinned values. Returns only when no restart was needed (empty string) or
// when the restart failed (its cause).
std::string restart_in_math_mode(MathMode mode, char** argv);

// For a run's stored environment: {"mode": ..., "pinned": {variable: value}} with the pinned variables as
// this process sees them (for native, whichever of them the user set).
nlohmann::json math_environment();

}  // namespace r2q
