// The measuring side of `r2q bench`: multiply-accumulate counts from the model, per-layer profiling of every
// CPU engine, the peak rate of each layer path, and the timing loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "backends/backend.h"
#include "backends/bench.h"
#include "tests/backends/backend_test_models.h"

namespace r2q::backends {
namespace {

using deploy::Op;

TEST(Bench, LayerMacsCountOutputsTimesInputsPerOutput) {
  const deploy::Model m = backend_testing::lenet_model();
  const std::vector<double> macs = bench::layer_macs(m);
  ASSERT_EQ(macs.size(), m.layers.size());
  const auto shapes = deploy::validate(m);
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const deploy::Layer& l = m.layers[i];
    if (l.op != Op::Conv2d && l.op != Op::Linear) {
      EXPECT_EQ(macs[i], 0) << l.name;
      continue;
    }
    const deploy::Shape& out = shapes.at(l.output);
    EXPECT_EQ(macs[i], static_cast<double>(out.c * out.h * out.w * l.conv.k())) << l.name;
  }
  // conv1: 6 channels of 8x8 outputs, each a 5x5 window of 1 channel.
  EXPECT_EQ(macs[1], 6.0 * 8 * 8 * 25);
}

TEST(Bench, EveryEngineProfilesEachLayerOnlyWhileAsked) {
  const deploy::Model m = backend_testing::lenet_model();
  deploy::FloatBatch x(2, m.input);
  for (std::size_t i = 0; i < x.data.size(); ++i) x.data[i] = static_cast<float>(i % 7) / 7.0f;
  for (const std::string& engine : get("cpu").engines()) {
    SCOPED_TRACE(engine);
    auto plan = get("cpu").plan(m, {.engine = engine});
    plan->run(x);
    EXPECT_TRUE(plan->layer_seconds().empty());
    plan->set_profiling(true);
    const deploy::FloatBatch expected = plan->run(x);
    const std::vector<double>& s = plan->layer_seconds();
    ASSERT_EQ(s.size(), m.layers.size());
    EXPECT_TRUE(std::all_of(s.begin(), s.end(), [](double v) { return v >= 0; }));
    EXPECT_GT(std::accumulate(s.begin(), s.end(), 0.0), 0.0);
    plan->set_profiling(false);
    EXPECT_TRUE(plan->layer_seconds().empty());
    EXPECT_EQ(plan->run(x), expected);  // profiling does not change results
  }
}

TEST(Bench, PeakRatesFollowTheLayerPath) {
  const deploy::Model m = backend_testing::lenet_model();
  const deploy::Layer& conv2 = m.layers[3];  // W2A2
  ASSERT_EQ(conv2.name, "conv2");
  const double fp32 = bench::fp32_peak_macs_per_cycle();
  EXPECT_GE(fp32, 4);
  // The shift-add rooflines divide one-bit products by weight x activation bits.
  deploy::Layer w2a4 = conv2;
  w2a4.conv.input_quant.bits = 4;
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    const std::string path = std::string("conv2d: shift-add ") + isa + " W2A2";
    EXPECT_DOUBLE_EQ(bench::peak_macs_per_cycle(path, conv2), 2 * bench::peak_macs_per_cycle(path, w2a4))
        << isa;
  }
  EXPECT_GT(bench::peak_macs_per_cycle("conv2d: shift-add avx512 W2A2", conv2),
            bench::peak_macs_per_cycle("conv2d: shift-add avx2 W2A2", conv2));
  EXPECT_EQ(bench::peak_macs_per_cycle("conv2d: onednn f32 convolution", conv2), fp32);
  EXPECT_EQ(bench::peak_macs_per_cycle("conv2d: integer loops W2A2", conv2), fp32);
  EXPECT_EQ(bench::peak_macs_per_cycle("max_pool", m.layers[2]), 0);
}

TEST(Bench, MeasureRunsAtLeastTheAskedRunsAfterWarmUp) {
  int calls = 0;
  const bench::Timing t = bench::measure([&] { ++calls; }, 0.0, 7);
  EXPECT_EQ(t.runs, 7);
  EXPECT_EQ(calls, 9);  // two warm-up calls
  EXPECT_EQ(t.calls_per_sample, 1);
  EXPECT_LE(t.min_s, t.median_s);
}

// Spins for at least `us` microseconds.
void spin(int us) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  while (std::chrono::steady_clock::now() < end) {
  }
}

TEST(Bench, ShortCallsAreTimedInSamplesOfTheAskedLength) {
  int calls = 0;
  const bench::Timing t = bench::measure(
      [&] {
        ++calls;
        spin(50);
      },
      0.0, 4, 2e-3);
  EXPECT_EQ(t.runs, 4);
  // About 40 calls of >= 50 us make a 2 ms sample (fewer if the machine was slow while calibrating).
  ASSERT_GT(t.calls_per_sample, 1);
  EXPECT_LE(t.calls_per_sample, 40);
  EXPECT_GE(calls, 2 + 4 * t.calls_per_sample);  // warm-up and calibration groups, then 4 samples
  // Per call: a sample's time over its calls, not the sample's time.
  EXPECT_GE(t.min_s, 50e-6);
  EXPECT_LT(t.median_s, 2e-3 / 4);
  EXPECT_LE(t.min_s, t.median_s);

  // A call longer than the sample length is timed alone, after two warm-up calls.
  calls = 0;
  const bench::Timing slow = bench::measure(
      [&] {
        ++calls;
        spin(300);
      },
      0.0, 3, 1e-4);
  EXPECT_EQ(slow.calls_per_sample, 1);
  EXPECT_EQ(calls, 2 + 3);
  EXPECT_GE(slow.median_s, 300e-6);
}

TEST(Bench, InterleavedMeasurementTakesEveryCandidateInTurn) {
  std::vector<int> order;
  const auto rounds =
      bench::measure_interleaved({[&] { order.push_back(0); }, [&] { order.push_back(1); }}, 0.0, 3);
  ASSERT_EQ(rounds.size(), 2u);
  EXPECT_EQ(rounds[0].size(), 3u);
  EXPECT_EQ(rounds[1].size(), 3u);
  for (const auto& candidate : rounds)
    for (const bench::Timing& t : candidate) EXPECT_EQ(t.calls_per_sample, 1);
  // Each round: candidate 0's calls (2 warm-up + 3 timed), then candidate 1's.
  ASSERT_EQ(order.size(), 30u);
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], static_cast<int>(i / 5 % 2)) << i;
}

TEST(Bench, InputIsDeterministicPixelsAndProfilesAreMediansPerLayer) {
  const deploy::Model m = backend_testing::lenet_model();
  const deploy::FloatBatch x = bench::bench_input(m, 3);
  EXPECT_EQ(x.n, 3);
  EXPECT_EQ(x.shape, m.input);
  EXPECT_EQ(x, bench::bench_input(m, 3));
  EXPECT_TRUE(std::all_of(x.data.begin(), x.data.end(), [](float v) { return v >= 0 && v < 1; }));
  auto plan = get("cpu").plan(m, {.engine = "shift-add"});
  const std::vector<double> layers = bench::profile_layers(*plan, x, 0.0);
  EXPECT_EQ(layers.size(), m.layers.size());
  EXPECT_GT(std::accumulate(layers.begin(), layers.end(), 0.0), 0.0);
  EXPECT_TRUE(plan->layer_seconds().empty());  // profiling is off again
}

}  // namespace
}  // namespace r2q::backends
