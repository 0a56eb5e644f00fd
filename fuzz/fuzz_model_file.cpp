// Fuzzes the deploy model loader: bytes -> a validated deploy::Model, or an InputError naming what is wrong.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/deploy/model_file.h"
#include "core/deploy/reference.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto model =
        r2q::deploy::decode_model(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.r2q");
    // A model that loads must also run: validate() promised the reference interpreter a consistent graph.
    // Large inputs are skipped to keep the fuzzer fast.
    if (model.input.size() <= 4096) {
      r2q::deploy::FloatBatch input(1, model.input);
      for (std::size_t i = 0; i < input.data.size(); ++i) input.data[i] = static_cast<float>(i % 7) / 7.0f;
      r2q::deploy::run_reference(model, input);
    }
  } catch (const r2q::Error&) {
  }
  return 0;
}
