// The shift-add kernels' measured roofline: each kernel's own row routine on an ideal, L1-resident row.
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

#include "backends/cpu/shift_add_conv.h"
#include "backends/cpu/shift_add_kernels.h"
#include "core/util/cpu.h"

namespace r2q::backends::cpu {
namespace {

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Work per cycle of `run` (doing `work` each call): several trials, each a clock measurement next to a
// kernel measurement, so that a change of the machine's speed (a shared host) moves both; the median trial.
template <class Run>
double per_cycle(const Run& run, double work) {
  run();  // warm the caches and the vector units
  std::vector<double> rates;
  for (int trial = 0; trial < 5; ++trial) {
    const double clock_hz = measure_clock_ghz() * 1e9;
    long calls = 0;
    const double start = thread_seconds();
    double seconds = 0;
    do {
      for (int i = 0; i < 16; ++i) run();
      calls += 16;
      seconds = thread_seconds() - start;
    } while (seconds < 0.01);
    if (clock_hz > 0) rates.push_back(work * static_cast<double>(calls) / seconds / clock_hz);
  }
  if (rates.empty()) return 0;
  std::nth_element(rates.begin(), rates.begin() + rates.size() / 2, rates.end());
  return rates[rates.size() / 2];
}

// One-bit products per cycle of `kernels.conv_row` on a row with no padding and no tails: 64 pixels (whole
// tiles), 16 output channels (whole blocks), 1-bit weights and activations (one (i, l) pass, so no per-pass
// overhead), 72 patch words (a long inner loop, and two of AVX2's byte-counter flushes), every operand in L1.
double measure(const detail::KernelTable& kernels) {
  constexpr int kPixels = 64, kChannels = 16, kWords = 72;
  constexpr int kBlock = PackedConvWeights::kBlock, kBlocks = kChannels / kBlock;
  constexpr std::size_t kPlaneWords = kPixels + kWords;  // pixel p's patch: words [p, p + kWords)
  std::vector<std::uint64_t, CacheAlignedAllocator<std::uint64_t>> weights(static_cast<std::size_t>(kBlocks) *
                                                                           kWords * kBlock);
  std::vector<std::uint64_t> planes(2 * kPlaneWords);  // low nibbles, then high (AVX2)
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  auto next = [&x] { return x ^= x << 13, x ^= x >> 7, x ^= x << 17; };
  for (auto& w : weights) w = next();
  for (auto& a : planes) a = next() & (kernels.nibble_planes ? 0x0F0F0F0F0F0F0F0Full : ~0ull);
  std::vector<std::int32_t> offsets(kWords), code_sums(kPixels, 0), out(kPixels * kChannels);
  for (int t = 0; t < kWords; ++t) offsets[static_cast<std::size_t>(t)] = t * 8;

  detail::ConvRowJob job;
  job.origin = reinterpret_cast<const std::uint8_t*>(planes.data());
  job.plane_stride = static_cast<std::ptrdiff_t>(kPlaneWords * 8);
  job.nibble_offset = job.plane_stride;
  job.pixel_step = 8;
  job.word_offsets = offsets.data();
  job.words = kWords;
  job.pixels = kPixels;
  job.act_bits = 1;
  job.code_sums = code_sums.data();
  job.weights = weights.data();
  job.block_words = static_cast<std::size_t>(kWords) * kBlock;
  job.blocks = kBlocks;
  job.weight_bits = 1;
  job.out_channels = kChannels;
  job.out = out.data();
  job.out_stride = kChannels;
  const double products_per_row = static_cast<double>(kPixels) * kChannels * kWords * 64;
  return per_cycle([&] { kernels.conv_row(job); }, products_per_row);
}

// MACs per cycle of the dot-product kernel on an ideal row: 64 pixels, 32 output channels (whole blocks and
// tiles), 144 patch chunks (a 3x3 patch of 64 channels), every operand in L1.
double measure_dot(void (*dot_row)(const detail::DotRowJob&)) {
  constexpr int kPixels = 64, kChannels = 32, kChunks = 144;
  constexpr int kBlock = PackedConvWeights::kDotBlock;
  std::vector<std::int8_t, CacheAlignedAllocator<std::int8_t>> weights(static_cast<std::size_t>(kChannels) *
                                                                       kChunks * 4);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(kPixels + kChunks) * 4);
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  auto next = [&x] { return x ^= x << 13, x ^= x >> 7, x ^= x << 17; };
  for (auto& w : weights) w = static_cast<std::int8_t>(static_cast<int>(next() % 7) - 3);
  for (auto& a : codes) a = static_cast<std::uint8_t>(next() % 4);
  std::vector<std::int32_t> offsets(kChunks), out(kPixels * kChannels);
  for (int t = 0; t < kChunks; ++t) offsets[static_cast<std::size_t>(t)] = 4 * t;

  detail::DotRowJob job;
  job.origin = codes.data();
  job.pixel_step = 4;
  job.chunk_offsets = offsets.data();
  job.chunks = kChunks;
  // Codes < 4 and weights in -3..3: pair sums <= 18, no 16-bit overflow within the row's 144 chunks.
  job.flush_chunks = kChunks;
  job.pixels = kPixels;
  job.weights = weights.data();
  job.block_bytes = static_cast<std::size_t>(kChunks) * kBlock * 4;
  job.blocks = kChannels / kBlock;
  job.out_channels = kChannels;
  job.out = out.data();
  job.out_stride = kChannels;
  return per_cycle([&] { dot_row(job); }, static_cast<double>(kPixels) * kChannels * kChunks * 4);
}

}  // namespace

double one_bit_products_per_cycle(Isa isa) {
  static std::mutex mutex;
  static std::array<double, 4> measured{};
  if (isa == Isa::Auto) isa = resolve_isa(Isa::Auto);
  if (!isa_unavailable_reason(isa).empty()) return 0;
  const std::lock_guard<std::mutex> lock(mutex);
  double& slot = measured[static_cast<std::size_t>(isa)];
  if (slot == 0) slot = measure(detail::kernel_table(isa));
  return slot;
}

double dot_macs_per_cycle(Isa isa) {
  if (isa == Isa::Auto) isa = resolve_isa(Isa::Auto);
  if (!isa_unavailable_reason(isa).empty() || !dot_product_runs(isa)) return 0;
  static std::mutex mutex;
  static std::array<double, 4> measured{};
  const std::lock_guard<std::mutex> lock(mutex);
  double& slot = measured[static_cast<std::size_t>(isa)];
  if (slot == 0) slot = measure_dot(detail::kernel_table(isa).dot_row);
  return slot;
}

}  // namespace r2q::backends::cpu
