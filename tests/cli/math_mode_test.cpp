// Portable math (issue 21, core/util/math_mode.h): the pins take effect whatever the environment says, and
// the same training run gives the same bits under different native kernel choices; without the pins, on a
// machine with AVX-512, those choices change the bits (which shows the check can fail).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/store/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using nlohmann::json;
using testing::TempDir;

const std::string kR2q = R2Q_BINARY;

class MathMode : public ::testing::Test {
 protected:
  // r2q with `env` (VAR=value words) added to its environment.
  testing::ProcessResult r2q(const std::vector<std::string>& env, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/env"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(kR2q);
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_process(argv, dir.path());
  }
  // Every stored value of a one-run sweep (ResNet-20: LeNet's small layers take the same kernels either way)
  // (train/loss per epoch, the test metrics) but its timings, in order.
  std::vector<double> values_of_a_run(const std::vector<std::string>& env, const std::string& math,
                                      const std::string& name) {
    const json spec = json::parse(R"({"name": "m", "base": {"dataset": {"name": "synthetic", "val_size": 0,
        "train_limit": 256, "test_limit": 128}, "model": {"name": "resnet20"}, "quant": {"method": "fp32"},
        "train": {"epochs": 1, "batch_size": 64, "lr": 0.05}, "eval": {"fgsm_eps": [0]}, "threads": 1}})");
    // A directory of its own: a run's checkpoints live beside its store.
    std::filesystem::create_directories(dir / name);
    const std::string db = (dir / name / "r2q.db").string();
    auto run = r2q(env, {"--math", math, "sweep", dir.write("m.json", spec.dump()).string(), "--db", db});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    store::Store s(db, store::Store::Mode::ReadOnly);
    const auto runs = s.runs(std::string("m"));
    EXPECT_EQ(runs.size(), 1u);
    if (runs.size() != 1) return {};
    environments.push_back(runs[0].environment);
    std::vector<double> out;
    for (const auto& m : s.metrics(runs[0].key))
      if (m.name.find("seconds") == std::string::npos && m.name.find("per_s") == std::string::npos)
        out.push_back(m.value);
    return out;
  }
  TempDir dir;
  std::vector<json> environments;
};

// Two sets of native choices: everything the CPU has, and the AVX2 level with another BLAS core.
const std::vector<std::string> kWide = {"ONEDNN_MAX_CPU_ISA=ALL", "DNNL_MAX_CPU_ISA=ALL",
                                        "ATEN_CPU_CAPABILITY=default", "OPENBLAS_CORETYPE=SkylakeX"};
const std::vector<std::string> kNarrow = {"ONEDNN_MAX_CPU_ISA=AVX2", "DNNL_MAX_CPU_ISA=AVX2",
                                          "OPENBLAS_CORETYPE=Haswell"};

TEST_F(MathMode, PortablePinsTheLibrariesWhateverTheEnvironmentSays) {
  // Through r2q, and r2q-engine started directly (it restarts itself with the pins).
  const std::string engine = std::filesystem::path(kR2q).parent_path() / "r2q-engine";
  for (const auto& result : {r2q(kWide, {"--math", "portable", "version"}),
                             r2q({"R2Q_MATH=portable", "ONEDNN_MAX_CPU_ISA=ALL"}, {"version"}),
                             testing::run_process({"/usr/bin/env", "R2Q_MATH=portable",
                                                   "ONEDNN_MAX_CPU_ISA=ALL", engine, "version"},
                                                  dir.path())}) {
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("math portable (LibTorch kernels avx2, oneDNN avx2)"), std::string::npos)
        << result.out;
  }
  auto bad = r2q({}, {"--math", "fast", "version"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--math: \"fast\" is not a math mode (known: native, portable)"), std::string::npos)
      << bad.err;
  auto bad_env = r2q({"R2Q_MATH=fast"}, {"status"});
  EXPECT_EQ(bad_env.exit_code, 2);
  EXPECT_NE(bad_env.err.find("R2Q_MATH: \"fast\""), std::string::npos) << bad_env.err;
}

TEST_F(MathMode, PortableRunsHaveTheSameBitsUnderDifferentNativeChoices) {
  const std::vector<double> wide = values_of_a_run(kWide, "portable", "wide");
  const std::vector<double> narrow = values_of_a_run(kNarrow, "portable", "narrow");
  ASSERT_FALSE(wide.empty());
  EXPECT_EQ(wide, narrow);  // bit for bit
  for (const json& env : environments) {
    EXPECT_EQ(env["math"]["mode"], "portable") << env.dump();
    EXPECT_EQ(env["math"]["onednn_isa"], "avx2") << env.dump();
    EXPECT_EQ(env["math"]["pinned"]["OPENBLAS_CORETYPE"], "ZEN") << env.dump();
  }

  // verify: the portable stores match to the last digit, with no note about their origin.
  const std::string wide_db = (dir / "wide" / "r2q.db").string(),
                    narrow_db = (dir / "narrow" / "r2q.db").string();
  auto same = r2q({}, {"verify", "--db", narrow_db, "--against", wide_db, "--tolerance", "0"});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_EQ(same.out.find("note:"), std::string::npos) << same.out;
  // One seed has no standard error: --mode stats refuses it; an unknown mode is a usage error.
  auto one_seed = r2q({}, {"verify", "--db", narrow_db, "--against", wide_db, "--mode", "stats"});
  EXPECT_EQ(one_seed.exit_code, 2);
  EXPECT_NE(one_seed.err.find("too few seeds (golden 1, current 1"), std::string::npos) << one_seed.err;
  EXPECT_EQ(r2q({}, {"verify", "--db", narrow_db, "--against", wide_db, "--mode", "exact"}).exit_code, 2);

  // Native math follows the environment: with AVX-512 at hand, the two choices give other bits.
  const std::vector<double> native_wide = values_of_a_run(kWide, "native", "native-wide");
  const std::vector<double> native_narrow = values_of_a_run(kNarrow, "native", "native-narrow");
  ASSERT_EQ(environments.size(), 4u);
  // verify names the difference in math before any drift table.
  auto origin = r2q({}, {"verify", "--db", (dir / "native-wide" / "r2q.db").string(), "--against", wide_db});
  EXPECT_NE(origin.out.find("verify: note: golden made with portable"), std::string::npos) << origin.out;
  EXPECT_NE(origin.out.find("this store: native"), std::string::npos) << origin.out;
  EXPECT_EQ(environments[2]["math"]["mode"], "native");
  const auto isa = environments[2]["cpu"]["isa"].get<std::vector<std::string>>();
  if (std::find(isa.begin(), isa.end(), "avx512f") == isa.end())
    GTEST_SKIP() << "no AVX-512 here: the native choices are the same kernels, nothing to tell apart";
  EXPECT_NE(environments[2]["math"]["onednn_isa"], environments[3]["math"]["onednn_isa"]);
  EXPECT_NE(native_wide, native_narrow) << "the native kernel choices did not change a bit";
}

}  // namespace
}  // namespace r2q
