// Fuzzes the IDX reader (MNIST, Fashion-MNIST): bytes, gunzipped as the reader does when they start with the
// gzip magic -> parse_idx -> the pair checks, with the input as the images file and as the labels file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>

#include "core/data/files.h"
#include "core/data/idx_format.h"
#include "core/util/error.h"

namespace {

const std::filesystem::path kPath = "fuzz-idx-ubyte";

template <class F>
void accepting_r2q_errors(F&& f) {
  try {
    f();
  } catch (const r2q::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using r2q::data::IdxArray;
  accepting_r2q_errors([&] {
    const std::string bytes =
        r2q::data::gunzip_if_needed(std::string(reinterpret_cast<const char*>(data), size), kPath);
    const IdxArray array = r2q::data::parse_idx(bytes, kPath);
    // What parse_idx accepted must be what idx.cpp can make a tensor of: 1-4 dimensions below 2^32 whose
    // product (a zero counted as one, as in the strides) fits int64_t, and that product in data bytes, all
    // readable (ASan checks each one).
    if (array.shape.empty() || array.shape.size() > 4) __builtin_trap();
    std::int64_t extent = 1;
    std::uint64_t count = 1;
    for (std::int64_t n : array.shape) {
      if (n < 0 || n > 0xffffffff || __builtin_mul_overflow(extent, std::max<std::int64_t>(n, 1), &extent))
        __builtin_trap();
      count *= static_cast<std::uint64_t>(n);
    }
    if (count != array.data.size()) __builtin_trap();
    volatile unsigned sum = std::accumulate(array.data.begin(), array.data.end(), 0u);
    (void)sum;
    const std::int64_t n = array.shape[0];
    // As a labels file: beside N empty images.
    accepting_r2q_errors([&] { r2q::data::check_idx_pair({{n, 0, 0}, {}}, array, 10, "images", kPath); });
    // As an images file: beside labels taken from its first N bytes, so the labels vary too.
    if (static_cast<std::uint64_t>(n) <= array.data.size())
      r2q::data::check_idx_pair(array, {{n}, array.data.first(static_cast<std::size_t>(n))}, 10, kPath,
                                "labels");
  });
  return 0;
}
