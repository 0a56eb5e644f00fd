// Measuring deployment plans for `r2q bench`: end-to-end and per-layer latency, multiply-accumulates, and
// each layer's peak rate on this CPU, so that a measured rate can be given as a percent of what its path
// could do.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/deploy/model.h"

namespace r2q::backends::bench {

struct Timing {
  double median_s = 0, min_s = 0;
  int runs = 0;
};

// Calls `fn` twice to warm up, then until both `min_seconds` have passed and `min_runs` calls were made;
// the median and minimum of the timed calls.
Timing measure(const std::function<void()>& fn, double min_seconds, int min_runs = 5);

// Multiply-accumulates per image of every layer (conv / linear; 0 for the others), by layer index.
std::vector<double> layer_macs(const deploy::Model& model);

// A layer's peak multiply-accumulates per cycle per core on its path (a layer_paths() line) on this CPU:
// fp32 FMA (32 with AVX-512, 16 with AVX2 + FMA), int8 (128 with AVX-512 VNNI, 64 with AVX-512 BW, 32 with
// AVX2's vpmaddubsw + vpmaddwd), the shift-add kernels' own rooflines (341 / (w a) with AVX-512 VPOPCNTDQ,
// 171 / (w a) with AVX2 on 4 vector pipes (AMD Zen), 128 / (w a) on 3 ports (Intel), for w weight and a
// activation bits; derivations in the kernel files). 0 for layers without MACs.
double peak_macs_per_cycle(const std::string& path, const deploy::Layer& layer);
// The same for LibTorch's fp32 kernels.
double fp32_peak_macs_per_cycle();

struct EngineResult {
  std::string engine;  // the plan's engine(), e.g. "shift-add (avx2)"
  int batch = 1, threads = 1;
  Timing total;                       // one run of the batch, profiling off
  std::vector<double> layer_seconds;  // median per layer over profiled runs (empty if not asked for)
  std::vector<std::string> layer_paths;
  std::size_t weight_bytes = 0;
};

struct EngineOptions {
  int batch = 1;
  double min_seconds = 0.5;
  bool per_layer = true;
};

// Plans `model` on `backend` with `plan_options` and times runs of a batch of deterministic pseudo-random
// pixels in [0, 1).
EngineResult bench_engine(const Backend& backend, const deploy::Model& model, const PlanOptions& plan_options,
                          const EngineOptions& options);

}  // namespace r2q::backends::bench
