// One `r2q bench` session, the measuring without the presentation: every chosen engine planned for each batch
// size and thread count, measured side by side in turns, profiled per layer at the first configuration, and
// compared with the reference engine (a backend's default, the shift-add engine on the CPU).
// cli/cmd_bench.cpp parses the options and prints what this returns.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/deploy/model.h"

namespace r2q::backends::bench {

// An engine to measure: one of a backend's, or the caller's baseline (backend null; e.g. LibTorch eager).
struct EngineChoice {
  Backend* backend = nullptr;
  std::string engine;
};

// The engines of `backend` ("all": every available backend) named in `engine_list` (comma-separated; empty:
// every engine, the baseline first when `baseline` is not empty). Throws InputError for an unavailable
// backend, UsageError-like InputError naming the known engines for an unknown one.
std::vector<EngineChoice> choose_engines(const std::string& backend, const std::string& engine_list,
                                         const std::string& baseline);

struct Request {
  const deploy::Model* model = nullptr;
  std::vector<EngineChoice> engines;
  // The baseline's call for a batch size and its thread setting (needed only when a choice has no backend).
  std::function<std::function<void()>(int batch)> baseline;
  std::function<void(int threads)> set_baseline_threads;
  std::vector<int> batches, threads;
  double min_seconds = 0.5;
  int rounds = 5;
  // A timed sample's length (bench::measure): calls of a small batch are timed in groups about that long (a
  // longer call alone), so that every batch size's per-image time carries its share of the machine's
  // interruptions.
  double min_sample_seconds = 0.01;
  double clock_ghz = 0;  // this CPU's measured clock, for percent of peak
};

struct LayerResult {
  std::string name, path;
  double seconds = 0, macs = 0;
  std::optional<double> gmac_per_s, percent_of_peak;
};

struct EngineResult {
  std::string engine;  // as the plan names itself, e.g. "shift-add (avx2)"; the baseline's name for it
  int batch = 0, threads = 0;
  double seconds = 0;          // median over the rounds of one run of the batch
  std::vector<double> rounds;  // each round's median
  int calls_per_sample = 1;    // runs of the batch timed together per sample (median over the rounds)
  double gmac_per_s = 0;
  std::optional<double> percent_of_peak;
  std::optional<std::size_t> weight_bytes;  // not for the baseline
  std::string note;
  std::vector<LayerResult> layers;  // at the first configuration
};

// The reference engine against another, at one configuration: the median over rounds of each round's ratio
// (both measured within seconds of each other).
struct Speedup {
  int batch = 0, threads = 0;
  std::string versus;
  double speedup = 0;
  std::vector<double> per_round;
};

struct Results {
  std::string reference;  // the engine the speed-ups are of
  std::vector<EngineResult> results;
  std::vector<Speedup> speedups;
  // The engine with the most weight bytes against the reference's (e.g. fp32 weights against bit-planes).
  std::optional<std::pair<std::string, double>> weight_ratio;
};

Results run(const Request& request);

}  // namespace r2q::backends::bench
