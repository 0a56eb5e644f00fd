// Fuzzes the CIFAR-10 batch reader: bytes -> parse_cifar10, then every record read as cifar.cpp reads it.
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string_view>

#include "core/data/cifar_format.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using r2q::data::Cifar10Records;
  try {
    const auto records =
        r2q::data::parse_cifar10(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.bin");
    // What parse_cifar10 accepted must be whole records with labels 0-9, all readable (ASan checks each
    // byte).
    if (records.size() == 0 || records.size() * Cifar10Records::kRecord != size) __builtin_trap();
    unsigned sum = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (records.label(i) > 9 || records.pixels(i).size() != Cifar10Records::kPixels) __builtin_trap();
      sum = std::accumulate(records.pixels(i).begin(), records.pixels(i).end(), sum);
    }
    volatile unsigned sink = sum;
    (void)sink;
  } catch (const r2q::Error&) {
  }
  return 0;
}
