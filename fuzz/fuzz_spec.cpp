// Fuzzes the experiment-spec parser and validator: JSON text -> validated, expanded runs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/spec/spec.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    // A small limit keeps each input fast; the limit's own check is part of what is fuzzed.
    r2q::spec::parse_experiment(text, "fuzz.json", {.max_runs = 256});
  } catch (const r2q::Error&) {
  }
  return 0;
}
