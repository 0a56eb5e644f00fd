// Measuring deployment plans.
#include "backends/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "backends/cpu/shift_add_conv.h"
#include "core/util/cpu.h"

namespace r2q::backends::bench {
namespace {

bool contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2),
                   values.end());
  return values[values.size() / 2];
}

Timing measure(const std::function<void()>& fn, double min_seconds, int min_runs, double min_sample_seconds) {
  using Clock = std::chrono::steady_clock;
  const auto time_calls = [&fn](int calls) {
    const auto t0 = Clock::now();
    for (int c = 0; c < calls; ++c) fn();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  fn();
  // Calls per sample, fixed for the whole measurement: groups of calls (warm-up too) sized from the last
  // group's pace until one lasts min_sample_seconds, so that one slow warm-up call (an allocation, a
  // preemption) only costs another round of calibration.
  constexpr int kMostCalls = 1000000, kMostCalibrations = 10;
  int calls = 1;
  double group = time_calls(1);
  for (int i = 0; i < kMostCalibrations && group < min_sample_seconds && calls < kMostCalls; ++i) {
    const double wanted = std::ceil(calls * min_sample_seconds / std::max(group, 1e-9));
    calls = static_cast<int>(std::clamp(wanted, calls + 1.0, static_cast<double>(kMostCalls)));
    group = time_calls(calls);
  }
  std::vector<double> samples;
  const auto start = Clock::now();
  while (static_cast<int>(samples.size()) < min_runs ||
         std::chrono::duration<double>(Clock::now() - start).count() < min_seconds)
    samples.push_back(time_calls(calls) / calls);
  Timing t;
  t.runs = static_cast<int>(samples.size());
  t.calls_per_sample = calls;
  t.min_s = *std::min_element(samples.begin(), samples.end());
  t.median_s = median(std::move(samples));
  return t;
}

std::vector<double> layer_macs(const deploy::Model& model) {
  const std::map<int, deploy::Shape> shapes = deploy::validate(model);
  std::vector<double> macs;
  for (const deploy::Layer& l : model.layers) {
    double m = 0;
    if (l.op == deploy::Op::Conv2d || l.op == deploy::Op::Linear) {
      const deploy::Shape& out = shapes.at(l.output);
      m = static_cast<double>(out.c) * static_cast<double>(out.h * out.w) * static_cast<double>(l.conv.k());
    }
    macs.push_back(m);
  }
  return macs;
}

double fp32_peak_macs_per_cycle() {
  const CpuInfo& cpu = cpu_info();
  if (cpu.avx512f) return 32;  // 2 x 16-lane FMA
  if (cpu.avx2 && cpu.fma) return 16;
  return 4;  // one 4-lane SSE multiply and add
}

double model_one_bit_products_per_cycle(cpu::Isa isa) {
  switch (isa) {
    case cpu::Isa::Avx512:
      return 341.3;
    case cpu::Isa::Avx2:
      return cpu_info().model.find("AMD") != std::string::npos ? 170.7 : 128.0;
    default:
      return 64.0;  // one AND + POPCNT + ADD per 64 one-bit products
  }
}

double model_dot_macs_per_cycle(cpu::Isa isa) {
  // vpdpbusd: 64 MACs, two a cycle; vpmaddubsw: 32 MACs, two a cycle (with its vpaddw on the other ports)
  return isa == cpu::Isa::Avx512 ? 128 : 64;
}

double peak_macs_per_cycle(const std::string& path, const deploy::Layer& layer) {
  if (layer.op != deploy::Op::Conv2d && layer.op != deploy::Op::Linear) return 0;
  const CpuInfo& cpu = cpu_info();
  const double bits = static_cast<double>(layer.conv.weights.bits * layer.conv.input_quant.bits);
  if (contains(path, ": shift-add ") && bits > 0) {
    const cpu::Isa isa = contains(path, "avx512") ? cpu::Isa::Avx512
                         : contains(path, "avx2") ? cpu::Isa::Avx2
                                                  : cpu::Isa::Scalar;
    if (const double measured = cpu::one_bit_products_per_cycle(isa); measured > 0) return measured / bits;
    return model_one_bit_products_per_cycle(isa) / bits;
  }
  if (contains(path, ": dot products ")) {
    const cpu::Isa isa = contains(path, "avx512") ? cpu::Isa::Avx512 : cpu::Isa::Avx2;
    if (const double measured = cpu::dot_macs_per_cycle(isa); measured > 0) return measured;
    return model_dot_macs_per_cycle(isa);
  }
  if (contains(path, "s8s32")) {
    if (cpu.avx512_vnni) return 128;
    if (cpu.avx512bw) return 64;
    if (cpu.avx2) return 32;
  }
  return fp32_peak_macs_per_cycle();
}

std::vector<std::vector<Timing>> measure_interleaved(const std::vector<std::function<void()>>& fns,
                                                     double min_seconds, int rounds,
                                                     double min_sample_seconds) {
  std::vector<std::vector<Timing>> out(fns.size());
  const double per_round = min_seconds / std::max(1, rounds);
  for (int r = 0; r < std::max(1, rounds); ++r)
    for (std::size_t i = 0; i < fns.size(); ++i)
      out[i].push_back(measure(fns[i], per_round, 3, min_sample_seconds));
  return out;
}

deploy::FloatBatch bench_input(const deploy::Model& model, int batch) {
  deploy::FloatBatch input(batch, model.input);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  for (float& v : input.data) v = pixel(rng);
  return input;
}

std::vector<double> profile_layers(Plan& plan, const deploy::FloatBatch& input, double min_seconds) {
  plan.set_profiling(true);
  std::vector<std::vector<double>> samples;
  measure(
      [&] {
        plan.run(input);
        const std::vector<double>& s = plan.layer_seconds();
        samples.resize(s.size());
        for (std::size_t i = 0; i < s.size(); ++i) samples[i].push_back(s[i]);
      },
      min_seconds);
  plan.set_profiling(false);
  std::vector<double> out;
  for (auto& s : samples) out.push_back(median(std::move(s)));
  return out;
}

}  // namespace r2q::backends::bench
