// Tests of the CPU backend's oneDNN engines against the reference interpreter.
// onednn-int8: accumulators bit for bit, logits; onednn-fp32: logits to float tolerance; batch 1 and 3,
// plan once run many, weight sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/deploy/reference.h"
#include "core/util/error.h"
#include "tests/backends/backend_test_models.h"
#include "tests/support/deploy_test_models.h"

namespace r2q::backends {
namespace {

using namespace backend_testing;

PlanOptions engine_options(const std::string& engine, int threads = 1) {
  PlanOptions o;
  o.engine = engine;
  o.threads = threads;
  return o;
}

bool integer_conv(const Layer& l) {
  return (l.op == Op::Conv2d || l.op == Op::Linear) && l.conv.integer();
}

// A linear layer whose sums can reach 2^25 (8-bit codes on both sides, K = 1024): beyond f32's exact
// integers, and beyond int16 pairs, so without VNNI only the integer loops are exact.
Model wide_linear_model() {
  Model m;
  m.input = {1024, 1, 1};
  m.layers.push_back(conv_layer("fc", 0, 1,
                                {.in = 1024,
                                 .out = 12,
                                 .format = WeightFormat::IntCodes,
                                 .weight_bits = 8,
                                 .kind = ActKind::Unsigned,
                                 .act_bits = 8,
                                 .linear = true},
                                60));
  m.output = 1;
  return m;
}

const std::vector<NamedModel>& models() {
  static const std::vector<NamedModel> all = [] {
    std::vector<NamedModel> m = test_models();
    m.push_back({"wide_linear", calibrated(wide_linear_model())});
    return m;
  }();
  return all;
}

// The same models calibrated off the rounding ties (the median sample at 0.45 of the largest code, not 0.5):
// an f32 engine's last-bit differences would flip the codes of tie samples, and one flipped code moves the
// logits by a whole quantization step, which says nothing about the engine's arithmetic.
const std::vector<NamedModel>& fp32_models() {
  static const std::vector<NamedModel> all = [] {
    std::vector<NamedModel> m = {
        {"resnet_block", calibrated(deploy::testing::resnet_block_model(), 0.45f)},
        {"mobilenet_block", calibrated(deploy::testing::mobilenet_block_model(), 0.45f)},
        {"fire", calibrated(deploy::testing::fire_model(), 0.45f)},
        {"lenet_head", calibrated(deploy::testing::lenet_head_model(), 0.45f)},
        {"lenet", calibrated(lenet_model(), 0.45f)},
        {"w2_resnet_widths", calibrated(w2_model(), 0.45f)},
        {"epilogues", calibrated(epilogue_model(), 0.45f)},
        {"wide_linear", calibrated(wide_linear_model(), 0.45f)}};
    return m;
  }();
  return all;
}

// The largest |got - want| / max(1, |want|) over the logits.
double max_relative_difference(const FloatBatch& got, const FloatBatch& want) {
  double worst = 0;
  for (std::size_t i = 0; i < got.data.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(got.data[i]) - want.data[i]) /
                                std::max(1.0, std::fabs(static_cast<double>(want.data[i]))));
  return worst;
}

class OnednnInt8Test : public ::testing::TestWithParam<int> {};

TEST_P(OnednnInt8Test, AccumulatorsAndLogitsEqualTheReference) {
  const NamedModel& nm = models()[static_cast<std::size_t>(GetParam())];
  auto plan = get("cpu").plan(nm.model, engine_options("onednn-int8"));
  EXPECT_EQ(plan->engine(), "onednn-int8");
  const std::vector<std::string> paths = plan->layer_paths();
  ASSERT_EQ(paths.size(), nm.model.layers.size());
  for (const std::string& p : paths) std::cout << "  " << p << "\n";

  for (int64_t n : {1, 3}) {
    SCOPED_TRACE("batch " + std::to_string(n));
    const FloatBatch x = random_input(nm.model, n, 2000 + static_cast<uint32_t>(n));
    const deploy::ReferenceResult want = deploy::run_reference(nm.model, x, {.keep_accumulators = true});
    const RunResult got = plan->run_with_accumulators(x);
    ASSERT_EQ(got.accumulators.size(), want.accumulators.size());
    for (const auto& [layer, acc] : want.accumulators) {
      ASSERT_TRUE(got.accumulators.contains(layer)) << deploy::describe_layer(nm.model, layer);
      EXPECT_EQ(got.accumulators.at(layer), acc) << deploy::describe_layer(nm.model, layer);
    }
    // The epilogue and every float op are computed as the reference computes them: the same bits.
    EXPECT_EQ(got.logits, want.logits)
        << "max relative difference " << max_relative_difference(got.logits, want.logits);
    // Plan once, run many: the same bits every time, in any order of the two calls.
    const FloatBatch first = plan->run(x);
    EXPECT_EQ(first, got.logits);
    EXPECT_EQ(plan->run(x), first);
    EXPECT_EQ(plan->run_with_accumulators(x).logits, first);
  }
}

std::string model_name(const ::testing::TestParamInfo<int>& info) {
  return models()[static_cast<std::size_t>(info.param)].name;
}

INSTANTIATE_TEST_SUITE_P(Models, OnednnInt8Test, ::testing::Range(0, static_cast<int>(models().size())),
                         model_name);

class OnednnFp32Test : public ::testing::TestWithParam<int> {};

TEST_P(OnednnFp32Test, LogitsAgreeWithTheReference) {
  const NamedModel& nm = fp32_models()[static_cast<std::size_t>(GetParam())];
  auto plan = get("cpu").plan(nm.model, engine_options("onednn-fp32"));
  EXPECT_EQ(plan->engine(), "onednn-fp32");
  for (const std::string& p : plan->layer_paths()) std::cout << "  " << p << "\n";
  for (int64_t n : {1, 3}) {
    SCOPED_TRACE("batch " + std::to_string(n));
    const FloatBatch x = random_input(nm.model, n, 3000 + static_cast<uint32_t>(n));
    const deploy::ReferenceResult want = deploy::run_reference(nm.model, x);
    const RunResult got = plan->run_with_accumulators(x);
    EXPECT_TRUE(got.accumulators.empty());  // f32 sums are not the integer accumulators
    ASSERT_EQ(got.logits.n, want.logits.n);
    ASSERT_EQ(got.logits.shape, want.logits.shape);
    const double difference = max_relative_difference(got.logits, want.logits);
    std::cout << "  " << nm.name << " batch " << n << ": max relative logit difference " << difference
              << "\n";
    EXPECT_LE(difference, 1e-3);
    const FloatBatch first = plan->run(x);
    EXPECT_EQ(first, got.logits);
    EXPECT_EQ(plan->run(x), first);
  }
}

std::string fp32_model_name(const ::testing::TestParamInfo<int>& info) {
  return fp32_models()[static_cast<std::size_t>(info.param)].name;
}

INSTANTIATE_TEST_SUITE_P(Models, OnednnFp32Test, ::testing::Range(0, static_cast<int>(fp32_models().size())),
                         fp32_model_name);

// Every integer layer runs on a oneDNN primitive unless no primitive is exact for it, and the plain u8 x
// 2-bit layers (exact on every CPU) run as int8.
TEST(OnednnEngine, IntegerLayersRunOnOnednn) {
  const Model m = calibrated(w2_model());
  auto plan = get("cpu").plan(m, engine_options("onednn-int8"));
  const std::vector<std::string> paths = plan->layer_paths();
  for (std::size_t i = 0; i < m.layers.size(); ++i)
    if (integer_conv(m.layers[i])) {
      EXPECT_NE(paths[i].find("onednn u8s8s32"), std::string::npos) << paths[i];
    }
}

TEST(OnednnEngine, NewBatchSizesArePlannedLazily) {
  for (const char* engine : {"onednn-int8", "onednn-fp32"}) {
    SCOPED_TRACE(engine);
    const Model m = calibrated(lenet_model(), 0.45f);
    auto plan = get("cpu").plan(m, engine_options(engine));
    const FloatBatch x = random_input(m, 3, 11);
    const FloatBatch all = plan->run(x);
    for (int64_t b = 0; b < 3; ++b) {
      const FloatBatch one = image_of(x, b);
      const FloatBatch single = plan->run(one);
      ASSERT_EQ(single.data.size(), 10u);
      for (std::size_t i = 0; i < 10; ++i) {
        const float want = all.data[static_cast<std::size_t>(b) * 10 + i];
        // int8: exact; f32: oneDNN may pick another kernel (another summation order) for another batch.
        const float tolerance =
            std::string(engine) == "onednn-int8" ? 0.0f : 1e-5f * std::max(1.0f, std::fabs(want));
        EXPECT_NEAR(single.data[i], want, tolerance);
      }
    }
    EXPECT_EQ(plan->run(x), all);  // back to batch 3
    EXPECT_EQ(plan->run(FloatBatch(0, m.input)).data.size(), 0u);
  }
}

TEST(OnednnEngine, ThreadsChangeNothingInt8) {
  const NamedModel& nm = models()[0];
  const FloatBatch x = random_input(nm.model, 3, 5);
  const FloatBatch one = get("cpu").plan(nm.model, engine_options("onednn-int8", 1))->run(x);
  const FloatBatch two = get("cpu").plan(nm.model, engine_options("onednn-int8", 2))->run(x);
  EXPECT_EQ(one, two);
  EXPECT_THROW(get("cpu").plan(nm.model, engine_options("onednn-int8", 0)), InputError);
  EXPECT_THROW(get("cpu").plan(nm.model, engine_options("onednn-fp32", 0)), InputError);
}

TEST(OnednnEngine, WeightBytes) {
  const Model m = w2_model();
  std::size_t weights = 0, channels = 0;
  for (const Layer& l : m.layers)
    if (l.op == Op::Conv2d || l.op == Op::Linear) {
      weights += static_cast<std::size_t>(l.conv.out_channels * l.conv.k());
      channels += static_cast<std::size_t>(l.conv.out_channels);
    }
  // fp32: 4 bytes per (dequantised) weight; int8: 1 byte per code plus each channel's f32 multiplier.
  EXPECT_EQ(get("cpu").plan(m, engine_options("onednn-fp32"))->weight_bytes(), 4 * weights);
  EXPECT_EQ(get("cpu").plan(m, engine_options("onednn-int8"))->weight_bytes(), weights + 4 * channels);
}

TEST(OnednnEngine, RejectsBadInputs) {
  const Model m = deploy::testing::fire_model();
  for (const char* engine : {"onednn-int8", "onednn-fp32"}) {
    auto plan = get("cpu").plan(m, engine_options(engine));
    FloatBatch wrong(1, {m.input.c + 1, m.input.h, m.input.w});
    EXPECT_THROW(plan->run(wrong), InputError) << engine;
    FloatBatch x = random_input(m, 2, 5);
    x.data[3] = std::nanf("");
    EXPECT_THROW(plan->run(x), InputError) << engine;
    Model invalid = m;
    invalid.output = 99;
    EXPECT_THROW(get("cpu").plan(invalid, engine_options(engine)), InputError) << engine;
  }
}

}  // namespace
}  // namespace r2q::backends
