// Micro-benchmarks of the shift-add convolution: ResNet-20's three 3x3 convolutions at batch 1, W2A2, on
// every kernel ISA this CPU runs, against plain integer direct convolutions in the same binary. MAC/s counts
// out_h * out_w * out_channels * (in_channels / groups) * kh * kw multiply-adds per image (padding included).
//   shift_add_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/shift_add_conv.h"
#include "core/util/rng.h"

namespace {

using r2q::backends::cpu::ConvShape;
using r2q::backends::cpu::Epilogue;
using r2q::backends::cpu::Isa;
using r2q::backends::cpu::PackedConvWeights;

struct Layer {
  std::string name;
  ConvShape shape;
};

ConvShape conv3x3(int channels, int size) {
  ConvShape s;
  s.in_channels = s.out_channels = channels;
  s.in_h = s.in_w = size;
  s.kernel_h = s.kernel_w = 3;
  s.pad_h = s.pad_w = 1;
  return s;
}

const std::vector<Layer>& layers() {
  static const std::vector<Layer> all = {{"resnet20_16ch_32x32", conv3x3(16, 32)},
                                         {"resnet20_32ch_16x16", conv3x3(32, 16)},
                                         {"resnet20_64ch_8x8", conv3x3(64, 8)}};
  return all;
}

constexpr int kWeightBits = 2, kActBits = 2;

// A kernel and bit widths: the bit-plane kernel or the dot-product one (AVX-512 VNNI).
struct Variant {
  Isa isa = Isa::Avx512;
  bool dot = false;
  int weight_bits = kWeightBits, act_bits = kActBits;
};

double macs(const ConvShape& s) {
  return static_cast<double>(s.out_h()) * s.out_w() * s.out_channels * s.group_in() * s.kernel_h * s.kernel_w;
}

struct Data {
  std::vector<std::int8_t> weights;  // OIHW odd codes
  std::vector<std::uint8_t> input;   // NHWC codes
};

Data make_data(const ConvShape& s, int weight_bits = kWeightBits, int act_bits = kActBits) {
  r2q::Rng rng(42);
  Data d;
  const int qmax = (1 << weight_bits) - 1;
  d.weights.resize(static_cast<std::size_t>(s.out_channels) * s.group_in() * s.kernel_h * s.kernel_w);
  for (auto& m : d.weights) m = static_cast<std::int8_t>(2 * static_cast<int>(rng.below(qmax + 1)) - qmax);
  d.input.resize(static_cast<std::size_t>(s.in_h) * s.in_w * s.in_channels);
  for (auto& a : d.input) a = static_cast<std::uint8_t>(rng.below(1u << act_bits));
  return d;
}

void set_rate(benchmark::State& state, const ConvShape& s) {
  state.counters["MAC/s"] = benchmark::Counter(macs(s), benchmark::Counter::kIsIterationInvariantRate);
}

void shift_add(benchmark::State& state, const ConvShape& s, Variant v, bool fused) {
  std::string why = r2q::backends::cpu::isa_unavailable_reason(v.isa);
  const Data d = make_data(s, v.weight_bits, v.act_bits);
  const PackedConvWeights packed(
      s, d.weights, v.weight_bits,
      v.dot ? r2q::backends::cpu::Packing::DotProduct : r2q::backends::cpu::Packing::BitPlanes);
  if (why.empty() && v.dot && !r2q::backends::cpu::uses_dot_product(v.isa, packed))
    why = "no dot-product kernel for this ISA on this CPU";
  if (!why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  r2q::backends::cpu::Workspace ws;
  std::vector<std::int32_t> acc(static_cast<std::size_t>(s.out_h()) * s.out_w() * s.out_channels);
  std::vector<std::uint8_t> codes(acc.size());
  Epilogue e;
  e.multiplier.assign(static_cast<std::size_t>(s.out_channels), 0.01f);
  e.bias.assign(static_cast<std::size_t>(s.out_channels), 0.1f);
  e.relu = true;
  e.out_bits = v.act_bits;
  for (auto _ : state) {
    if (fused)
      r2q::backends::cpu::shift_add_conv(s, packed, d.input.data(), 1, v.act_bits, e, codes.data(), v.isa,
                                         &ws);
    else
      r2q::backends::cpu::shift_add_conv(s, packed, d.input.data(), 1, v.act_bits, acc.data(), v.isa, &ws);
    benchmark::DoNotOptimize(acc.data());
    benchmark::DoNotOptimize(codes.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, s);
}

// The baseline: the definition as plain loops, weights in their OIHW order, NHWC input.
void naive_oihw(benchmark::State& state, const ConvShape& s) {
  const Data d = make_data(s);
  const int oh = s.out_h(), ow = s.out_w(), cin = s.in_channels, kh = s.kernel_h, kw = s.kernel_w;
  std::vector<std::int32_t> out(static_cast<std::size_t>(oh) * ow * s.out_channels);
  for (auto _ : state) {
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int oc = 0; oc < s.out_channels; ++oc) {
          std::int32_t acc = 0;
          for (int c = 0; c < cin; ++c)
            for (int ky = 0; ky < kh; ++ky)
              for (int kx = 0; kx < kw; ++kx) {
                const int iy = oy * s.stride_h - s.pad_h + ky, ix = ox * s.stride_w - s.pad_w + kx;
                if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                acc += d.weights[((static_cast<std::size_t>(oc) * cin + c) * kh + ky) * kw + kx] *
                       d.input[(static_cast<std::size_t>(iy) * s.in_w + ix) * cin + c];
              }
          out[(static_cast<std::size_t>(oy) * ow + ox) * s.out_channels + oc] = acc;
        }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, s);
}

// A fairer integer baseline: weights reordered to [out][kh][kw][in] so the inner loop runs over contiguous
// channels of both operands and the compiler vectorises it (with this file's portable flags: SSE2).
void direct_ohwi(benchmark::State& state, const ConvShape& s) {
  const Data d = make_data(s);
  const int oh = s.out_h(), ow = s.out_w(), cin = s.in_channels, kh = s.kernel_h, kw = s.kernel_w;
  std::vector<std::int8_t> w(d.weights.size());
  for (int oc = 0; oc < s.out_channels; ++oc)
    for (int c = 0; c < cin; ++c)
      for (int ky = 0; ky < kh; ++ky)
        for (int kx = 0; kx < kw; ++kx)
          w[((static_cast<std::size_t>(oc) * kh + ky) * kw + kx) * cin + c] =
              d.weights[((static_cast<std::size_t>(oc) * cin + c) * kh + ky) * kw + kx];
  std::vector<std::int32_t> out(static_cast<std::size_t>(oh) * ow * s.out_channels);
  for (auto _ : state) {
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int oc = 0; oc < s.out_channels; ++oc) {
          std::int32_t acc = 0;
          for (int ky = 0; ky < kh; ++ky) {
            const int iy = oy * s.stride_h - s.pad_h + ky;
            if (iy < 0 || iy >= s.in_h) continue;
            for (int kx = 0; kx < kw; ++kx) {
              const int ix = ox * s.stride_w - s.pad_w + kx;
              if (ix < 0 || ix >= s.in_w) continue;
              const std::int8_t* wp = w.data() + ((static_cast<std::size_t>(oc) * kh + ky) * kw + kx) * cin;
              const std::uint8_t* ap = d.input.data() + (static_cast<std::size_t>(iy) * s.in_w + ix) * cin;
              for (int c = 0; c < cin; ++c) acc += wp[c] * ap[c];
            }
          }
          out[(static_cast<std::size_t>(oy) * ow + ox) * s.out_channels + oc] = acc;
        }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, s);
}

[[maybe_unused]] const int registered = [] {
  for (const Layer& layer : layers()) {
    const ConvShape s = layer.shape;
    benchmark::RegisterBenchmark(("naive_oihw/" + layer.name).c_str(),
                                 [s](benchmark::State& st) { naive_oihw(st, s); });
    benchmark::RegisterBenchmark(("direct_ohwi/" + layer.name).c_str(),
                                 [s](benchmark::State& st) { direct_ohwi(st, s); });
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
      const std::string isa_name(r2q::backends::cpu::isa_name(isa));
      const Variant v{isa};
      benchmark::RegisterBenchmark(("shift_add_" + isa_name + "/" + layer.name).c_str(),
                                   [s, v](benchmark::State& st) { shift_add(st, s, v, false); });
      benchmark::RegisterBenchmark(("shift_add_" + isa_name + "_fused/" + layer.name).c_str(),
                                   [s, v](benchmark::State& st) { shift_add(st, s, v, true); });
    }
  }
  // Bit-planes against dot products (AVX2, AVX-512), fused epilogue, at several bit widths: the measurement
  // behind dot_product_suits().
  std::vector<Layer> compared = layers();
  compared.push_back({"wide_128ch_8x8", conv3x3(128, 8)});
  compared.push_back({"wide_256ch_4x4", conv3x3(256, 4)});
  for (Isa isa : {Isa::Avx2, Isa::Avx512})
    for (const auto& [wb, ab] : {std::pair{1, 1}, {1, 2}, {2, 2}, {2, 4}, {4, 4}})
      for (const Layer& layer : compared)
        for (bool dot : {false, true}) {
          const ConvShape s = layer.shape;
          const Variant v{isa, dot, wb, ab};
          const std::string name = std::string(dot ? "dot_" : "planes_") +
                                   std::string(r2q::backends::cpu::isa_name(isa)) + "_w" +
                                   std::to_string(wb) + "a" + std::to_string(ab) + "/" + layer.name;
          benchmark::RegisterBenchmark(name.c_str(),
                                       [s, v](benchmark::State& st) { shift_add(st, s, v, true); });
        }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
