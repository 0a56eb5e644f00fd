// A small, fully specified random generator (SplitMix64). Unlike std:: distributions its output is the same
// with every standard library, so data order and augmentation are identical on every machine.
#pragma once

#include <cstdint>

namespace r2q {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  // Seeds derived from several integers (seed, epoch, batch) without correlation between neighbours.
  static Rng derive(std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) {
    Rng r(a);
    std::uint64_t s = r.next() ^ (b * 0x9E3779B97F4A7C15ull);
    Rng r2(s);
    return Rng(r2.next() ^ (c * 0xD1B54A32D192ED03ull));
  }
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the tiny bias for huge n is irrelevant here).
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

}  // namespace r2q
