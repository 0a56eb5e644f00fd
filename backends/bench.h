// Measuring deployment plans for `r2q bench`: end-to-end and per-layer latency, multiply-accumulates, and
// each layer's peak rate on this CPU, so that a measured rate can be given as a percent of what its path
// could do.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/shift_add_conv.h"
#include "core/deploy/model.h"

namespace r2q::backends::bench {

struct Timing {
  double median_s = 0, min_s = 0;  // of one call: a sample's time over its calls
  int runs = 0;                    // timed samples (each of calls_per_sample calls)
  int calls_per_sample = 1;
};

// The median of `values` (the upper one of an even count; 0 for none).
double median(std::vector<double> values);

// Calls `fn` to warm up, then takes timed samples until both `min_seconds` have passed and `min_runs`
// samples were taken; the median and minimum of the samples. A sample is a group of consecutive calls timed
// together and divided by their count; the count, the same for every sample, is calibrated on warm-up groups
// until one lasts min_sample_seconds (at least one call; a call longer than that is timed alone). Samples
// that long each hold their share of the machine's interruptions (timer ticks every few ms, a shared host's
// preemptions): the median of samples shorter than the interval between them leaves out the ones a tick
// lands in, which a long call (a big batch) cannot, so comparing batch sizes per image needs long samples.
// With min_sample_seconds = 0: two warm-up calls, then one call per sample.
Timing measure(const std::function<void()>& fn, double min_seconds, int min_runs = 5,
               double min_sample_seconds = 0);

// Multiply-accumulates per image of every layer (conv / linear; 0 for the others), by layer index.
std::vector<double> layer_macs(const deploy::Model& model);

// A layer's peak multiply-accumulates per cycle per core on its path (a layer_paths() line) on this CPU:
// fp32 FMA (32 with AVX-512, 16 with AVX2 + FMA), int8 (128 with AVX-512 VNNI, 64 with AVX-512 BW, 32 with
// AVX2's vpmaddubsw + vpmaddwd), and for the shift-add kernels their roofline measured on this CPU
// (cpu::one_bit_products_per_cycle) divided by w weight x a activation bits, for the dot-product kernel its
// measured MACs per cycle (cpu::dot_macs_per_cycle; 128 with VNNI, 64 with AVX2 where unmeasured). 0 for
// layers without MACs.
double peak_macs_per_cycle(const std::string& path, const deploy::Layer& layer);
// The shift-add kernels' rooflines from the port model in their source files, for an ISA that cannot run
// here (and to set beside the measured ones): 341 one-bit products per cycle with AVX-512 VPOPCNTDQ (3 ALU
// uops on Intel's two 512-bit ports), 171 with AVX2 on AMD Zen's 4 vector pipes, 128 on Intel's 3 ports, 64
// scalar.
double model_one_bit_products_per_cycle(cpu::Isa isa);
// The same for the dot-product kernels, in MACs per cycle: 128 with AVX-512 VNNI, 64 with AVX2.
double model_dot_macs_per_cycle(cpu::Isa isa);
// The same for LibTorch's fp32 kernels.
double fp32_peak_macs_per_cycle();

// Side by side: each of `fns` in turn, for `rounds` rounds (each measured for min_seconds / rounds, in
// samples of at least min_sample_seconds), so that a change in the machine's speed during the benchmark
// (other load, a shared host) affects every candidate alike. Per candidate, each round's timing.
std::vector<std::vector<Timing>> measure_interleaved(const std::vector<std::function<void()>>& fns,
                                                     double min_seconds, int rounds,
                                                     double min_sample_seconds = 0);

// A batch of `batch` deterministic pseudo-random images in [0, 1) of the model's input shape.
deploy::FloatBatch bench_input(const deploy::Model& model, int batch);

// Per-layer wall times of `plan` on `input`: the median per layer over runs for `min_seconds`, by layer
// index.
std::vector<double> profile_layers(Plan& plan, const deploy::FloatBatch& input, double min_seconds);

}  // namespace r2q::backends::bench
