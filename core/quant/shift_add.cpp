// The reference shift-add dot product.
#include "core/quant/shift_add.h"

#include <bit>
#include <stdexcept>
#include <string>

namespace r2q::quant {
namespace {

BitPlanes pack(const std::int32_t* values, std::size_t n, int bits) {
  BitPlanes p;
  p.bits = bits;
  p.length = n;
  p.planes.assign(static_cast<std::size_t>(bits), std::vector<std::uint64_t>((n + 63) / 64, 0));
  for (std::size_t j = 0; j < n; ++j)
    for (int b = 0; b < bits; ++b)
      if ((values[j] >> b) & 1) p.planes[static_cast<std::size_t>(b)][j / 64] |= std::uint64_t{1} << (j % 64);
  return p;
}

}  // namespace

BitPlanes pack_odd_codes(const std::int32_t* codes, std::size_t n, int bits) {
  const std::int32_t qmax = (1 << bits) - 1;
  std::vector<std::int32_t> u(n);
  for (std::size_t j = 0; j < n; ++j) {
    if (codes[j] % 2 == 0 || codes[j] < -qmax || codes[j] > qmax)
      throw std::invalid_argument("pack_odd_codes: code " + std::to_string(codes[j]) + " is not odd in [-" +
                                  std::to_string(qmax) + ", " + std::to_string(qmax) + "]");
    u[j] = (codes[j] + qmax) / 2;
  }
  return pack(u.data(), n, bits);
}

BitPlanes pack_unsigned_codes(const std::int32_t* codes, std::size_t n, int bits) {
  for (std::size_t j = 0; j < n; ++j)
    if (codes[j] < 0 || codes[j] >= (1 << bits))
      throw std::invalid_argument("pack_unsigned_codes: code " + std::to_string(codes[j]) + " out of range");
  return pack(codes, n, bits);
}

std::int64_t shift_add_dot(const BitPlanes& w, const BitPlanes& a) {
  if (w.length != a.length) throw std::invalid_argument("shift_add_dot: lengths differ");
  std::int64_t total = 0;
  for (int l = 0; l < a.bits; ++l) {
    const auto& c = a.planes[static_cast<std::size_t>(l)];
    std::int64_t ones = 0;
    for (std::uint64_t word : c) ones += std::popcount(word);
    for (int i = 0; i < w.bits; ++i) {
      const auto& u = w.planes[static_cast<std::size_t>(i)];
      std::int64_t both = 0;
      for (std::size_t k = 0; k < u.size(); ++k) both += std::popcount(u[k] & c[k]);
      total += (2 * both - ones) << (i + l);
    }
  }
  return total;
}

}  // namespace r2q::quant
