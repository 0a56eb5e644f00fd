// The backend registry and the CPU backend's shift-add engine against the reference interpreter: bit-exact
// accumulators and logits on small models of every block the project's networks use, every ISA this CPU runs,
// batch 1 and 3; plan once, run many (same results, no allocation); names, errors and weight sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/batch_split.h"
#include "backends/cpu/shift_add_conv.h"
#include "core/deploy/reference.h"
#include "core/util/error.h"
#include "tests/backends/allocation_counter.h"
#include "tests/backends/backend_test_models.h"
#include "tests/support/deploy_test_models.h"

namespace r2q::backends {
namespace {

using namespace backend_testing;  // with the deploy:: names the test models use

PlanOptions isa_options(const std::string& isa) {
  PlanOptions o;
  o.isa = isa;
  return o;
}

bool runs_on_kernel(const deploy::Layer& l) {
  return (l.op == Op::Conv2d || l.op == Op::Linear) && l.conv.weights.format == WeightFormat::OddPlanes &&
         l.conv.input_quant.kind == ActKind::Unsigned && l.conv.weights.bits <= 4 && !l.conv.input_affine.on;
}

#define SKIP_IF_ISA_UNAVAILABLE(isa)                                                                   \
  do {                                                                                                 \
    const std::string why = cpu::isa_unavailable_reason(cpu::parse_isa(isa));                          \
    if (!why.empty()) GTEST_SKIP() << "the " << (isa) << " shift-add kernel cannot run here: " << why; \
  } while (0)

// The AVX-512 kernel's fused float epilogue is compiled with -mavx512f, under which GCC contracts
// acc * mul + bias into an FMA (C++'s default -ffp-contract=fast): one rounding instead of two, so run()'s
// values may differ from the reference in the last bit there. run_with_accumulators() applies the epilogue
// outside the kernel and is exact on every ISA.
// Every kernel file is compiled with -ffp-contract=off (backends/CMakeLists.txt), so the fused epilogue
// rounds as the reference does on every ISA.
bool fused_epilogue_exact(const std::string&) {
  return true;
}

void expect_close(const FloatBatch& got, const FloatBatch& want, const std::string& what) {
  ASSERT_EQ(got.n, want.n) << what;
  ASSERT_EQ(got.shape, want.shape) << what;
  ASSERT_EQ(got.data.size(), want.data.size()) << what;
  for (std::size_t i = 0; i < got.data.size(); ++i)
    ASSERT_NEAR(got.data[i], want.data[i], 1e-4 * std::max(1.0f, std::fabs(want.data[i])))
        << what << " [" << i << "]";
}

class ShiftAddEngineTest : public ::testing::TestWithParam<std::tuple<int, std::string>> {};

TEST_P(ShiftAddEngineTest, MatchesTheReferenceExactly) {
  const auto& [model_index, isa] = GetParam();
  SKIP_IF_ISA_UNAVAILABLE(isa);
  const NamedModel& nm = test_models()[static_cast<std::size_t>(model_index)];
  auto plan = get("cpu").plan(nm.model, isa_options(isa));
  EXPECT_EQ(plan->engine(), "shift-add (" + isa + ")");

  // The odd bit-plane layers with unsigned inputs, and only those, run on the kernels: the bit-plane kernel,
  // or (AVX2, AVX-512 with VNNI) the dot-product kernel for the layers dot_product_suits() picks.
  const std::vector<std::string> paths = plan->layer_paths();
  ASSERT_EQ(paths.size(), nm.model.layers.size());
  const bool dot_runs = cpu::dot_product_runs(cpu::parse_isa(isa));
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const Layer& l = nm.model.layers[i];
    const bool on_planes = paths[i].find("shift-add " + isa) != std::string::npos;
    const bool on_dot =
        paths[i].find("dot products " + std::string(cpu::dot_product_name(cpu::parse_isa(isa)))) !=
        std::string::npos;
    EXPECT_EQ(on_planes || on_dot, runs_on_kernel(l)) << paths[i];
    if (on_planes || on_dot) {
      cpu::ConvShape shape;
      shape.in_channels = static_cast<int>(l.conv.in_channels);
      shape.out_channels = static_cast<int>(l.conv.out_channels);
      shape.groups = static_cast<int>(l.conv.groups);
      shape.kernel_h = static_cast<int>(l.conv.kernel_h);
      shape.kernel_w = static_cast<int>(l.conv.kernel_w);
      EXPECT_EQ(on_dot,
                dot_runs && cpu::dot_product_suits(shape, l.conv.weights.bits, l.conv.input_quant.bits,
                                                   cpu::resolve_isa(cpu::parse_isa(isa))))
          << paths[i];
    }
  }

  // An add whose kernel reader shares one quantizer computes the reader's codes with the sum.
  if (nm.name == "w2_resnet_widths") {
    EXPECT_NE(paths[6].find("fused with its readers' input quantizer"), std::string::npos) << paths[6];
    EXPECT_NE(paths[7].find("codes in (from the add's fused quantizer)"), std::string::npos) << paths[7];
  }
  // So does a first layer on pixel codes, in its epilogue, when its output is NHWC.
  if (nm.name == "pixel_stems") {
    for (std::size_t stem : {0u, 1u})
      EXPECT_NE(paths[stem].find("fused with its readers' input quantizer"), std::string::npos)
          << paths[stem];
    for (std::size_t reader : {2u, 4u})
      EXPECT_NE(paths[reader].find("codes in (from the first layer's fused quantizer)"), std::string::npos)
          << paths[reader];
    // The strided 3x3 stem's max pool reader takes NCHW: no codes there, its kernel reader quantizes them.
    EXPECT_EQ(paths[3].find("fused"), std::string::npos) << paths[3];
    EXPECT_NE(paths[5].find("NCHW float in (transposed and quantized here)"), std::string::npos) << paths[5];
  }

  for (int64_t n : {1, 3}) {
    SCOPED_TRACE("batch " + std::to_string(n));
    const FloatBatch x = random_input(nm.model, n, 1000 + static_cast<uint32_t>(n));
    const deploy::ReferenceResult want = deploy::run_reference(nm.model, x, {.keep_accumulators = true});
    ASSERT_FALSE(want.accumulators.empty());
    // The comparison means something only if the quantizers see varied inputs: at least three distinct codes
    // at every layer of 2 bits or more (both at 1 bit).
    const deploy::ReferenceResult values = deploy::run_reference(nm.model, x, {.keep_values = true});
    for (const Layer& l : nm.model.layers) {
      const deploy::InputQuant& q = l.conv.input_quant;
      if ((l.op != Op::Conv2d && l.op != Op::Linear) || q.kind == ActKind::None) continue;
      std::vector<int32_t> codes = deploy::quantize_batch(values.values.at(l.inputs.front()), q).data;
      std::sort(codes.begin(), codes.end());
      const auto distinct = std::unique(codes.begin(), codes.end()) - codes.begin();
      EXPECT_GE(distinct, q.bits == 1 ? 2 : 3) << l.name;
    }

    const RunResult got = plan->run_with_accumulators(x);
    ASSERT_EQ(got.accumulators.size(), want.accumulators.size());
    for (const auto& [layer, acc] : want.accumulators) {
      ASSERT_TRUE(got.accumulators.contains(layer)) << deploy::describe_layer(nm.model, layer);
      EXPECT_EQ(got.accumulators.at(layer), acc) << deploy::describe_layer(nm.model, layer);
    }
    EXPECT_EQ(got.logits, want.logits);

    const FloatBatch first = plan->run(x);
    if (fused_epilogue_exact(isa))
      EXPECT_EQ(first, want.logits);
    else
      expect_close(first, want.logits, "run() with the fused epilogue");
    // Plan once, run many: the same input gives the same bits every time, in any order of the two calls.
    EXPECT_EQ(plan->run(x), first);
    EXPECT_EQ(plan->run_with_accumulators(x).logits, got.logits);
    EXPECT_EQ(plan->run(x), first);
  }
}

std::string param_name(const ::testing::TestParamInfo<std::tuple<int, std::string>>& info) {
  return test_models()[static_cast<std::size_t>(std::get<0>(info.param))].name + "_" +
         std::get<1>(info.param);
}

INSTANTIATE_TEST_SUITE_P(ModelsAndIsas, ShiftAddEngineTest,
                         ::testing::Combine(::testing::Range(0, static_cast<int>(test_models().size())),
                                            ::testing::Values("scalar", "avx2", "avx512")),
                         param_name);

// Random inputs almost never land on a rounding tie, where the export rule (float32 division, then
// floor(|v| + 0.5f)) differs from other plausible ones (a multiplication by 1 / scale, std::round, lround).
// These inputs sit on and one ulp either side of every tie of a 2-bit quantizer, for scales that are not
// powers of two.
TEST(ShiftAddEngine, QuantizesAtRoundingTiesAsTheExportFormat) {
  for (float scale : {0.1f, 0.3f, 0.07f, 1.0f / 3.0f}) {
    SCOPED_TRACE("scale " + std::to_string(scale));
    Model m;
    m.input = {8, 4, 4};
    m.layers.push_back(conv_layer("conv", 0, 1, w2a2(8, 16, 1, 1, Activation::None), 50));
    m.layers.back().conv.input_quant.scale = scale;
    m.layers.push_back(simple_layer(Op::GlobalAvgPool, "mean", {1}, 2));
    m.output = 2;
    std::vector<float> candidates;
    for (int code = 0; code <= 3; ++code) {
      const float tie = (static_cast<float>(code) + 0.5f) * scale;
      const float inf = std::numeric_limits<float>::infinity();
      for (float v : {tie, std::nextafter(tie, inf), std::nextafter(tie, -inf), 0.49999997f * scale,
                      static_cast<float>(code) * scale})
        candidates.push_back(v);
    }
    FloatBatch x(2, m.input);
    for (std::size_t i = 0; i < x.data.size(); ++i) x.data[i] = candidates[(i * 7) % candidates.size()];
    const deploy::ReferenceResult want = deploy::run_reference(m, x, {.keep_accumulators = true});
    for (const char* isa : {"scalar", "avx2", "avx512"}) {
      if (!cpu::isa_unavailable_reason(cpu::parse_isa(isa)).empty()) continue;
      auto plan = get("cpu").plan(m, isa_options(isa));
      const RunResult got = plan->run_with_accumulators(x);
      EXPECT_EQ(got.accumulators.at(0), want.accumulators.at(0)) << isa;
      EXPECT_EQ(got.logits, want.logits) << isa;
    }
  }
}

TEST(ShiftAddEngine, SecondRunOfABatchSizeAllocatesNothing) {
  for (const NamedModel& nm : test_models()) {
    if (!nm.allocation_free) continue;
    SCOPED_TRACE(nm.name);
    auto plan = get("cpu").plan(nm.model);
    const FloatBatch x = random_input(nm.model, 3, 7);
    const FloatBatch first = plan->run(x);
    const long before = r2q::testing::allocation_count();
    const FloatBatch& again = plan->run(x);
    const long allocations = r2q::testing::allocation_count() - before;
    EXPECT_EQ(allocations, 0);
    EXPECT_EQ(again, first);
  }
}

TEST(ShiftAddEngine, ABatchOfOneImageEqualsThatImageInABatch) {
  const Model m = lenet_model();
  auto plan = get("cpu").plan(m);
  const FloatBatch x = random_input(m, 3, 11);
  const FloatBatch all = plan->run(x);
  for (int64_t b = 0; b < 3; ++b) {
    const FloatBatch one = image_of(x, b);
    const FloatBatch& single = plan->run(one);
    ASSERT_EQ(single.data.size(), 10u);
    for (std::size_t i = 0; i < 10; ++i)
      EXPECT_EQ(single.data[i], all.data[static_cast<std::size_t>(b) * 10 + i]);
  }
}

TEST(ShiftAddEngine, WeightsAreAtLeastTwelveTimesSmallerThanFp32) {
  const Model m = w2_model();
  auto plan = get("cpu").plan(m);
  // The kernel's layout: per group, output channels padded to blocks of 8; per plane, each kernel row is
  // kernel_w pixels of group_in bits (rounded up to a byte) in whole 64-bit words.
  // The dot-product kernel's: per group, output channels padded to blocks of 16, k bits per code.
  std::size_t expected = 0, fp32 = 0;
  const std::vector<std::string> paths = plan->layer_paths();
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const deploy::Layer& l = m.layers[i];
    if (l.op != Op::Conv2d && l.op != Op::Linear) continue;
    const deploy::Conv& c = l.conv;
    const int64_t group_out = c.out_channels / c.groups, group_in = c.in_channels / c.groups;
    if (paths[i].find("dot products") != std::string::npos) {
      expected += static_cast<std::size_t>(c.groups * ((group_out + 15) / 16 * 16) * c.kernel_h * c.kernel_w *
                                           group_in * c.weights.bits / 8);
    } else {
      const int64_t row_words = (c.kernel_w * ((group_in + 7) / 8 * 8) + 63) / 64;
      expected += static_cast<std::size_t>(c.groups * ((group_out + 7) / 8 * 8) * c.weights.bits *
                                           c.kernel_h * row_words * 8);
    }
    fp32 += static_cast<std::size_t>(c.out_channels * c.k() * 4);
  }
  EXPECT_EQ(plan->weight_bytes(), expected);
  EXPECT_LE(plan->weight_bytes() * 12, fp32)
      << plan->weight_bytes() << " bytes of packed weights, fp32: " << fp32;
}

TEST(ShiftAddEngine, WeightBytesCountEveryFormatAsHeld) {
  const Model m = deploy::testing::resnet_block_model();  // int8 stem and fc, two W2 convs of 8 channels
  auto plan = get("cpu").plan(m);
  // stem: 4 x 27 codes held as floats (its input is float: the float loops); fc: 10 x 8 int8 codes (the
  // integer loops); conv1: 8 channels x 2 planes x 3 kernel rows x 1 word (3 pixels of 4 channels in 8 bits
  // each) x 8 bytes; conv2: the same with 8 input channels. With the dot-product kernel (AVX2, AVX-512 VNNI)
  // the convs hold 2 bits per code instead, 16 output channels (8 of them padding) x 9 taps x 4 and 8
  // channels.
  if (cpu::dot_product_runs(cpu::Isa::Auto))
    EXPECT_EQ(plan->weight_bytes(), 4u * 27 * 4 + 10u * 8 + 16u * 9 * (4 + 8) * 2 / 8);
  else
    EXPECT_EQ(plan->weight_bytes(), 4u * 27 * 4 + 10u * 8 + 2 * (8u * 2 * 3 * 8));
}

TEST(ShiftAddEngine, AutoIsaHonoursTheEnvironment) {
  const Model m = deploy::testing::fire_model();
  ASSERT_EQ(setenv("R2Q_KERNEL_ISA", "scalar", 1), 0);
  EXPECT_EQ(get("cpu").plan(m)->engine(), "shift-add (scalar)");
  ASSERT_EQ(setenv("R2Q_KERNEL_ISA", "sse9", 1), 0);
  EXPECT_THROW(get("cpu").plan(m), InputError);
  ASSERT_EQ(unsetenv("R2Q_KERNEL_ISA"), 0);
  const std::string best(cpu::isa_name(cpu::available_isas().back()));
  EXPECT_EQ(get("cpu").plan(m)->engine(), "shift-add (" + best + ")");
}

TEST(ShiftAddEngine, RejectsBadInputsAndOptions) {
  const Model m = deploy::testing::fire_model();
  auto plan = get("cpu").plan(m);
  FloatBatch wrong(1, {m.input.c + 1, m.input.h, m.input.w});
  EXPECT_THROW(plan->run(wrong), InputError);
  FloatBatch x = random_input(m, 2, 5);
  x.data[3] = std::nanf("");
  EXPECT_THROW(plan->run(x), InputError);

  PlanOptions threads;
  threads.threads = 0;
  EXPECT_THROW(get("cpu").plan(m, threads), InputError);
  try {
    get("cpu").plan(m, isa_options("sse9"));
    ADD_FAILURE() << "an unknown ISA was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("avx512"), std::string::npos) << e.what();
  }
  for (cpu::Isa isa : {cpu::Isa::Avx2, cpu::Isa::Avx512}) {
    const std::string name(cpu::isa_name(isa));
    if (cpu::isa_unavailable_reason(isa).empty()) continue;
    EXPECT_THROW(get("cpu").plan(m, isa_options(name)), InputError) << name;
  }

  Model invalid = m;
  invalid.output = 99;
  EXPECT_THROW(get("cpu").plan(invalid), InputError);
}

// threads > 1 splits a batch across plans, one per thread: every image's logits are those of one thread.
TEST(ShiftAddEngine, ThreadsSplitTheBatchWithIdenticalResults) {
  const Model m = calibrated(lenet_model());
  auto one = get("cpu").plan(m);
  for (int threads : {2, 3}) {
    PlanOptions o;
    o.threads = threads;
    auto many = get("cpu").plan(m, o);
    EXPECT_EQ(many->engine(), one->engine());
    EXPECT_EQ(many->layer_paths(), one->layer_paths());
    EXPECT_EQ(many->weight_bytes(), one->weight_bytes() * static_cast<std::size_t>(threads));
    for (int64_t n : {1, 2, 5, 7}) {
      const FloatBatch x = random_input(m, n, static_cast<unsigned>(40 + n));
      const FloatBatch expected = one->run(x);
      EXPECT_EQ(many->run(x), expected) << threads << " threads, batch " << n;
      EXPECT_EQ(many->run(x), expected) << "second run";  // buffers reused
    }
    // A bad image in a later slice is reported as in a one-thread run.
    FloatBatch bad = random_input(m, 6, 3);
    bad.data[bad.data.size() - 1] = std::nanf("");
    EXPECT_THROW(many->run(bad), InputError);
  }
  // Slices run in chunks (here of 2 images; plan_shift_add sizes them for the cache): the same logits.
  for (std::size_t threads : {1u, 2u}) {
    std::vector<std::unique_ptr<Plan>> plans;
    for (std::size_t t = 0; t < threads; ++t) plans.push_back(get("cpu").plan(m));
    auto chunked = cpu::split_batches(std::move(plans), m, 2);
    for (int64_t n : {1, 2, 3, 8, 9}) {
      const FloatBatch x = random_input(m, n, static_cast<unsigned>(60 + n));
      EXPECT_EQ(chunked->run(x), one->run(x)) << threads << " threads, batch " << n;
    }
  }
  EXPECT_EQ(cpu::chunk_for_cache(m, 0), 1);
  EXPECT_GE(cpu::chunk_for_cache(m, 1 << 20), 2);
}

TEST(BackendRegistry, FindsTheCpuBackendAndListsKnownNames) {
  Backend& cpu = get("cpu");
  EXPECT_EQ(cpu.name(), "cpu");
  EXPECT_EQ(cpu.available(), "");
  const DeviceInfo d = cpu.device();
  EXPECT_EQ(d.name, "cpu");
  EXPECT_GE(d.threads, 1);
  EXPECT_EQ(cpu.engines(), (std::vector<std::string>{"shift-add", "onednn-fp32", "onednn-int8"}));

  const std::vector<Backend*> every = all();
  ASSERT_FALSE(every.empty());
  EXPECT_NE(std::find(every.begin(), every.end(), &cpu), every.end());

  try {
    get("tpu");
    ADD_FAILURE() << "an unknown backend was found";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("known: cpu"), std::string::npos) << e.what();
  }
  // "cuda" is a plugin: without its library it is listed, not available, and says why.
  EXPECT_NE(get("cuda").available().find("libr2q-backend-cuda.so"), std::string::npos);
}

TEST(BackendRegistry, DuplicateNamesAreAnError) {
  BackendRegistry r("backend");
  register_builtins(r);
  EXPECT_THROW(register_builtins(r), std::logic_error);
}

TEST(BackendRegistry, UnknownEngineListsTheKnownOnes) {
  const Model m = deploy::testing::fire_model();
  PlanOptions o;
  o.engine = "onednn-bf16";  // no such engine: the message must say what exists
  try {
    get("cpu").plan(m, o);
    ADD_FAILURE() << "an unknown engine was accepted";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("onednn-bf16"), std::string::npos) << what;
    EXPECT_NE(what.find("known: onednn-fp32, onednn-int8, shift-add"), std::string::npos) << what;
  }
}

TEST(BackendRegistry, CpuSupportsEveryLayerAndSaysWhyNotForAMissingOne) {
  for (const NamedModel& nm : test_models())
    for (std::size_t i = 0; i < nm.model.layers.size(); ++i)
      EXPECT_EQ(get("cpu").supports(nm.model, i), "") << nm.name << " layer " << i;
  const Model m = deploy::testing::fire_model();
  const std::string why = get("cpu").supports(m, m.layers.size());
  EXPECT_NE(why.find("layer " + std::to_string(m.layers.size())), std::string::npos) << why;
}

}  // namespace
}  // namespace r2q::backends
