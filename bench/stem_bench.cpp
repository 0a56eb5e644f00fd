// Micro-benchmarks of ResNet-20's first layer (3 -> 16 channels, 3x3, padding 1, 32x32, int8 weights, ReLU)
// at batch 1 on every float-kernel ISA this CPU runs: on the pixels' 8-bit codes with the normalisation
// folded in (format version 2's input affine: float_ops.h's run_affine_layer), and as format version 1 ran
// it, normalize then float loops on the normalised input (run_other + run_float_loops), both NHWC out as the
// shift-add engine runs them. Its pieces too: the per-channel window sums alone (channel_window_sums, and
// the integer kernels: AVX-512 VNNI bytes, AVX2 16-bit words), the epilogue, the quantizer.
//   stem_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backends/cpu/float_gemm.h"
#include "backends/cpu/float_ops.h"
#include "core/deploy/input_affine.h"
#include "core/util/rng.h"

namespace {

using r2q::backends::cpu::Isa;
namespace cpu = r2q::backends::cpu;
namespace deploy = r2q::deploy;

constexpr int64_t kIn = 3, kOut = 16, kSize = 32;

// Normalize + stem as `r2q export` wrote them in format version 1: [0] normalize, [1] the float-input stem.
std::vector<deploy::Layer> version1_layers() {
  r2q::Rng rng(7);
  deploy::Layer norm;
  norm.op = deploy::Op::Normalize;
  norm.name = "normalize";
  norm.inputs = {deploy::kInputValue};
  norm.output = 1;
  norm.normalize = {{0.4914f, 0.4822f, 0.4465f}, {1 / 0.2470f, 1 / 0.2435f, 1 / 0.2616f}};
  deploy::Layer stem;
  stem.name = "stem";
  stem.inputs = {1};
  stem.output = 2;
  stem.activation = deploy::Activation::Relu;
  deploy::Conv& c = stem.conv;
  c.in_channels = kIn;
  c.out_channels = kOut;
  c.kernel_h = c.kernel_w = 3;
  c.pad_h = c.pad_w = 1;
  c.weights.format = deploy::WeightFormat::IntCodes;
  c.weights.bits = 8;
  for (int64_t i = 0; i < kOut * kIn * 9; ++i)
    c.weights.codes.push_back(static_cast<int8_t>(static_cast<int>(rng.uniform() * 255.0) - 128));
  for (int64_t o = 0; o < kOut; ++o) {
    c.weights.scale.push_back(0.01f);
    c.mul.push_back(0.001f * static_cast<float>(o + 1));
    c.bias.push_back(0.1f - 0.01f * static_cast<float>(o));
  }
  return {norm, stem};
}

deploy::Layer folded_stem() {
  deploy::Model m;
  m.input = {kIn, kSize, kSize};
  m.layers = version1_layers();
  deploy::Layer pool;
  pool.op = deploy::Op::GlobalAvgPool;
  pool.name = "pool";
  pool.inputs = {2};
  pool.output = 3;
  m.layers.push_back(pool);
  m.output = 3;
  m.metadata["classes"] = kOut;
  deploy::fold_input_normalize(m);
  return m.layers.front();
}

std::vector<float> pixels() {
  r2q::Rng rng(3);
  std::vector<float> x;
  for (int64_t i = 0; i < kIn * kSize * kSize; ++i)
    x.push_back(static_cast<float>(static_cast<int>(rng.uniform() * 255.0)) / 255.0f);
  return x;
}

const deploy::Shape kInShape{kIn, kSize, kSize}, kOutShape{kOut, kSize, kSize};

void pixel_codes(benchmark::State& state, Isa isa) {
  const deploy::Layer stem = folded_stem();
  const cpu::AffineLayer a = *cpu::prepare_affine_layer(stem.conv, kInShape, isa);
  const std::vector<float> x = pixels();
  std::vector<float> y(static_cast<std::size_t>(kOut * kSize * kSize)), scratch;
  std::vector<double> rows;
  for (auto _ : state) {
    cpu::run_affine_layer(stem, a, kInShape, kOutShape, x.data(), y.data(), 1, scratch, rows, isa, true,
                          nullptr);
    benchmark::DoNotOptimize(y.data());
  }
}

// The per-channel sums of the stem's window on constant codes: float32 lanes, or (integer) the integer kernel
// the engine picks for this ISA (AVX-512 VNNI bytes, AVX2 16-bit words).
void window_sums(benchmark::State& state, Isa isa, bool integer) {
  const deploy::Layer stem = folded_stem();
  // The float32 lanes' weights are prepared as for a CPU without the integer kernels (Scalar picks none).
  const cpu::AffineLayer a = *cpu::prepare_affine_layer(stem.conv, kInShape, integer ? isa : Isa::Scalar);
  if (integer && a.int_sums == cpu::IntSums::None) {
    state.SkipWithError("no integer kernel for this layer on this CPU");
    return;
  }
  std::vector<float> padded(static_cast<std::size_t>(kIn * (kSize + 2) * (kSize + 2)), 7.0f);
  std::vector<std::uint8_t> padded_bytes(padded.size() + 4, 7);
  std::vector<std::int16_t> padded_words(padded.size() + 2, 7);
  std::vector<float> sums(static_cast<std::size_t>(kIn * kOut * kSize * kSize));
  const cpu::CodeWindowJob window{.weights_by_k = a.weights_by_k.data(),
                                  .padded = padded.data(),
                                  .sums = sums.data(),
                                  .in_channels = kIn,
                                  .padded_h = kSize + 2,
                                  .padded_w = kSize + 2,
                                  .kernel_h = 3,
                                  .kernel_w = 3,
                                  .out_h = kSize,
                                  .out_w = kSize,
                                  .channels = kOut};
  for (auto _ : state) {
    if (integer && a.int_sums == cpu::IntSums::Bytes)
      cpu::byte_window_sums({.padded = padded_bytes.data(), .quads = a.quads.data(), .window = window});
    else if (integer)
      cpu::word_window_sums({.padded = padded_words.data(), .pairs = a.pairs.data(), .window = window});
    else
      cpu::channel_window_sums(isa, window);
    benchmark::DoNotOptimize(sums.data());
  }
}

void epilogue(benchmark::State& state, Isa isa) {
  const deploy::Layer stem = folded_stem();
  const cpu::AffineLayer a = *cpu::prepare_affine_layer(stem.conv, kInShape, isa);
  std::vector<float> sums(static_cast<std::size_t>(kIn * kOut * kSize * kSize), 1000.0f);
  std::vector<float> y(static_cast<std::size_t>(kOut * kSize * kSize));
  std::vector<double> t(static_cast<std::size_t>(kOut * kSize));
  for (auto _ : state) {
    for (int64_t oy = 0; oy < kSize; ++oy)
      cpu::affine_epilogue(isa, {.sums = sums.data() + oy * kSize * kOut,
                                 .channel_stride = kSize * kSize * kOut,
                                 .in_channels = kIn,
                                 .in_mul = a.in_mul.data(),
                                 .offsets = a.offsets.pixel(oy, 0),
                                 .mul = stem.conv.mul.data(),
                                 .bias = stem.conv.bias.data(),
                                 .t = t.data(),
                                 .dst = y.data() + oy * kSize * kOut,
                                 .pixels = kSize,
                                 .channels = kOut,
                                 .act = cpu::FloatEpilogueJob::Act::Relu});
    benchmark::DoNotOptimize(y.data());
  }
}

void quantize(benchmark::State& state, Isa isa) {
  const std::vector<float> x = pixels();
  std::vector<std::uint8_t> codes(x.size());
  for (auto _ : state) {
    cpu::quantize_unsigned(isa, x.data(), x.size(), 1.0f / 255.0f, 0, 255, codes.data());
    benchmark::DoNotOptimize(codes.data());
  }
}

void normalized_float(benchmark::State& state, Isa isa) {
  std::vector<deploy::Layer> layers = version1_layers();
  const std::vector<float> weights = cpu::take_float_loop_weights(layers[1].conv);
  const std::vector<float> x = pixels();
  std::vector<float> normalized(x.size()), y(static_cast<std::size_t>(kOut * kSize * kSize));
  std::vector<double> scratch;
  const float* in[] = {x.data()};
  const deploy::Shape shapes[] = {kInShape};
  for (auto _ : state) {
    cpu::run_other(layers[0], in, shapes, kInShape, normalized.data(), 1);
    cpu::run_float_loops(layers[1], weights.data(), kInShape, kOutShape, normalized.data(), y.data(), 1,
                         scratch, isa, true);
    benchmark::DoNotOptimize(y.data());
  }
}

const int registered = [] {
  for (const Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (!cpu::isa_unavailable_reason(isa).empty()) continue;
    const std::string name(cpu::isa_name(isa));
    benchmark::RegisterBenchmark(("stem_pixel_codes_" + name).c_str(), pixel_codes, isa);
    benchmark::RegisterBenchmark(("stem_window_sums_" + name).c_str(), window_sums, isa, false);
    if (isa != Isa::Scalar)
      benchmark::RegisterBenchmark(("stem_integer_sums_" + name).c_str(), window_sums, isa, true);
    benchmark::RegisterBenchmark(("stem_epilogue_" + name).c_str(), epilogue, isa);
    benchmark::RegisterBenchmark(("stem_quantize_" + name).c_str(), quantize, isa);
    benchmark::RegisterBenchmark(("stem_normalized_float_" + name).c_str(), normalized_float, isa);
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
