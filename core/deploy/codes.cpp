// Activation quantization and bit-plane packing of odd weight codes.
#include "core/deploy/codes.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/util/error.h"

namespace r2q::deploy {

int32_t kind_min_code(ActKind kind, int bits) {
  return kind == ActKind::Signed ? -(int32_t{1} << (bits - 1)) : 0;
}

int32_t kind_max_code(ActKind kind, int bits) {
  if (kind == ActKind::None) return 0;
  return kind == ActKind::Signed ? (int32_t{1} << (bits - 1)) - 1 : (int32_t{1} << bits) - 1;
}

std::vector<int32_t> quantize_activations(std::span<const float> x, const InputQuant& q) {
  std::vector<int32_t> codes(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) codes[i] = quantize_activation(x[i], q);
  return codes;
}

std::vector<uint64_t> pack_odd_planes(std::span<const int32_t> codes, int64_t out, int64_t k, int bits) {
  if (bits < 1 || bits > 8) throw InputError("odd codes: " + std::to_string(bits) + " bits (1-8 allowed)");
  if (static_cast<int64_t>(codes.size()) != out * k)
    throw InputError("odd codes: " + std::to_string(codes.size()) + " codes for " + std::to_string(out) +
                     " x " + std::to_string(k));
  const int32_t qmax = (1 << bits) - 1;
  const int64_t words = plane_words(k);
  std::vector<uint64_t> planes(static_cast<std::size_t>(out * bits * words), 0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < k; ++j) {
      int32_t m = codes[static_cast<std::size_t>(o * k + j)];
      if (m % 2 == 0 || m < -qmax || m > qmax)
        throw InputError("odd codes: code " + std::to_string(m) + " at [" + std::to_string(o) + ", " +
                         std::to_string(j) + "] is not odd in [-" + std::to_string(qmax) + ", " +
                         std::to_string(qmax) + "]");
      const uint32_t u = static_cast<uint32_t>((m + qmax) / 2);
      for (int i = 0; i < bits; ++i)
        if ((u >> i) & 1u)
          planes[static_cast<std::size_t>((o * bits + i) * words + j / 64)] |= 1ull << (j % 64);
    }
  return planes;
}

std::vector<int32_t> unpack_odd_planes(std::span<const uint64_t> planes, int64_t out, int64_t k, int bits) {
  if (bits < 1 || bits > 8) throw InputError("odd codes: " + std::to_string(bits) + " bits (1-8 allowed)");
  const int64_t words = plane_words(k);
  if (static_cast<int64_t>(planes.size()) != out * bits * words)
    throw InputError("bit-planes: " + std::to_string(planes.size()) + " words, expected " +
                     std::to_string(out * bits * words) + " (" + std::to_string(out) + " channels x " +
                     std::to_string(bits) + " planes x " + std::to_string(words) + " words)");
  // Bits past k in the last word of each plane must be zero: the packing is canonical, so equal models have
  // equal bytes and a stray bit is corruption, not data.
  const uint64_t tail_mask = k % 64 == 0 ? 0 : ~((1ull << (k % 64)) - 1);
  const int32_t qmax = (1 << bits) - 1;
  std::vector<int32_t> codes(static_cast<std::size_t>(out * k));
  for (int64_t o = 0; o < out; ++o) {
    for (int i = 0; i < bits; ++i)
      if (words > 0 && (planes[static_cast<std::size_t>((o * bits + i) * words + words - 1)] & tail_mask))
        throw InputError("bit-planes: channel " + std::to_string(o) + " plane " + std::to_string(i) +
                         " has bits set past K = " + std::to_string(k));
    for (int64_t j = 0; j < k; ++j) {
      int32_t u = 0;
      for (int i = 0; i < bits; ++i)
        u |= static_cast<int32_t>(
                 (planes[static_cast<std::size_t>((o * bits + i) * words + j / 64)] >> (j % 64)) & 1u)
             << i;
      codes[static_cast<std::size_t>(o * k + j)] = 2 * u - qmax;
    }
  }
  return codes;
}

std::vector<int32_t> weight_codes(const Conv& conv) {
  const Weights& w = conv.weights;
  if (w.format == WeightFormat::OddPlanes)
    return unpack_odd_planes(w.planes, conv.out_channels, conv.k(), w.bits);
  if (w.format == WeightFormat::IntCodes) return {w.codes.begin(), w.codes.end()};
  throw InputError("weight_codes: the weights are float, not codes");
}

int64_t max_abs_weight_code(const Weights& weights) {
  switch (weights.format) {
    case WeightFormat::OddPlanes:
      return (int64_t{1} << weights.bits) - 1;
    case WeightFormat::IntCodes:
      return int64_t{1} << (weights.bits - 1);
    case WeightFormat::Float:
      break;
  }
  return 0;
}

}  // namespace r2q::deploy
