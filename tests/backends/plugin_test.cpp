// Backend plugins (issue 18): the host loads a plugin library through the versioned C ABI and wraps it as a
// Backend, and every test model runs through the boundary bit for bit as on the built-in engine (the test
// plugin is the CPU backend behind the C table); a wrong API version, a library that is not a plugin and a
// missing one are refused with the reason; "cuda" without its library is listed as unavailable.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "backends/backend.h"
#include "backends/plugin/plugin_backend.h"
#include "core/deploy/reference.h"
#include "core/util/error.h"
#include "tests/backends/backend_test_models.h"

namespace r2q::backends {
namespace {

using namespace backend_testing;

const std::filesystem::path kPluginDir = R2Q_TEST_PLUGIN_DIR;
const std::filesystem::path kPlugin = kPluginDir / "libr2q-backend-cpu-plugin.so";

std::string load_error(const std::filesystem::path& library) {
  try {
    plugin::load(library);
  } catch (const InputError& e) {
    return e.what();
  }
  return "loaded";
}

TEST(Plugin, EveryTestModelRunsThroughTheAbiBitForBit) {
  auto plugin = plugin::load(kPlugin);
  ASSERT_EQ(plugin->name(), "cpu-plugin");
  EXPECT_EQ(plugin->available(), "");
  EXPECT_EQ(plugin->engines().front(), "shift-add");
  EXPECT_FALSE(plugin->device().description.empty());
  for (const NamedModel& m : test_models()) {
    SCOPED_TRACE(m.name);
    const FloatBatch input = random_input(m.model, 3, 7);
    const deploy::ReferenceResult reference =
        deploy::run_reference(m.model, input, {.keep_accumulators = true});
    auto plan = plugin->plan(m.model, {.engine = "shift-add", .isa = "auto", .threads = 1});
    const RunResult through = plan->run_with_accumulators(input);
    ASSERT_EQ(through.accumulators.size(), reference.accumulators.size());
    for (const auto& [layer, acc] : reference.accumulators)
      EXPECT_EQ(through.accumulators.at(layer).data, acc.data) << "layer " << layer;
    // Logits equal the built-in engine's, bit for bit.
    auto built_in = get("cpu").plan(m.model, {.engine = "shift-add", .isa = "auto", .threads = 1});
    EXPECT_EQ(plan->run(input).data, built_in->run(input).data);
    EXPECT_EQ(plan->layer_paths(), built_in->layer_paths());
    EXPECT_EQ(plan->weight_bytes(), built_in->weight_bytes());
    plan->set_profiling(true);
    plan->run(input);
    EXPECT_EQ(plan->layer_seconds().size(), m.model.layers.size());
  }
}

TEST(Plugin, ErrorsCrossAsStatusesAndKeepTheirKind) {
  auto plugin = plugin::load(kPlugin);
  const Model m = test_models().front().model;
  try {
    plugin->plan(m, {.engine = "warp-drive", .isa = "auto", .threads = 1});
    FAIL() << "an unknown engine was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cpu-plugin: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("warp-drive"), std::string::npos) << e.what();
  }
  auto plan = plugin->plan(m, {.engine = "shift-add", .isa = "auto", .threads = 1});
  EXPECT_THROW(plan->run(FloatBatch(1, {m.input.c + 1, m.input.h, m.input.w})), InputError);
}

TEST(Plugin, WrongVersionsAndOtherLibrariesAreRefusedWithTheReason) {
  ::setenv("R2Q_TEST_PLUGIN_API", "99", 1);
  EXPECT_NE(load_error(kPlugin).find("plugin API version 99, this r2q speaks version 1"), std::string::npos)
      << load_error(kPlugin);
  ::unsetenv("R2Q_TEST_PLUGIN_API");
  EXPECT_NE(load_error(kPluginDir / "libr2q-backend-missing.so").find("cannot be loaded"), std::string::npos);
  // A shared library that is no plugin: libc.
  EXPECT_NE(load_error("libc.so.6").find("not an r2q backend plugin"), std::string::npos)
      << load_error("libc.so.6");
}

TEST(Plugin, DiscoveredOnTheSearchPathAndCudaIsExplainedWhenMissing) {
  ::setenv("R2Q_BACKEND_PATH", kPluginDir.c_str(), 1);
  BackendRegistry registry("backend");
  plugin::register_plugins(registry, {"cuda"});
  ::unsetenv("R2Q_BACKEND_PATH");
  ASSERT_TRUE(registry.contains("cpu-plugin"));
  EXPECT_EQ(registry.get("cpu-plugin")->available(), "");
  ASSERT_TRUE(registry.contains("cuda"));
  EXPECT_NE(registry.get("cuda")->available().find("libr2q-backend-cuda.so is not installed"),
            std::string::npos);
  EXPECT_THROW(registry.get("cuda")->plan(test_models().front().model, {}), InputError);
}

}  // namespace
}  // namespace r2q::backends
