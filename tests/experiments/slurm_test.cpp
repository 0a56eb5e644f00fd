// Slurm for real (ctest label `slurm`): a one-node cluster on this machine (scripts/slurm/local-cluster), a
// 4-task array sweep submitted with scripts/slurm/submit and its merge job chained with afterok; the merged
// store must hold exactly the runs and metrics of a single-process sweep of the same spec. Skips, saying why,
// without root or without slurm-wlm / munge.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/store/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using nlohmann::json;
using testing::TempDir;

const std::string kR2q = R2Q_BINARY;
const std::filesystem::path kScripts = std::filesystem::path(R2Q_SOURCE_DIR) / "scripts" / "slurm";

bool on_path(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

// Metrics that depend on the clock, not on the computation.
bool timing_metric(const std::string& name) {
  return name.find("seconds") != std::string::npos || name.find("images_per_s") != std::string::npos;
}

class Slurm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to start slurmd (scripts/slurm/local-cluster)";
    for (const char* tool : {"munged", "slurmctld", "slurmd", "sbatch", "squeue"})
      if (!on_path(tool))
        GTEST_SKIP() << tool << " not found (apt-get install slurm-wlm munge; scripts/setup)";
    auto r = sh({(kScripts / "local-cluster").string(), "start", cluster().string()});
    started_ = true;
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << logs();
    ::setenv("SLURM_CONF", (cluster() / "slurm.conf").c_str(), 1);
    ::setenv("R2Q", kR2q.c_str(), 1);
  }
  void TearDown() override {
    if (started_) sh({(kScripts / "local-cluster").string(), "stop", cluster().string()});
    ::unsetenv("SLURM_CONF");
    ::unsetenv("R2Q");
  }

  std::filesystem::path cluster() const { return dir / "cluster"; }
  testing::ProcessResult sh(std::vector<std::string> argv) { return testing::run_process(argv, dir.path()); }
  std::string logs() {
    std::string text;
    for (const char* name : {"log/slurmctld.log", "log/slurmd.log"})
      text += std::string("\n--- ") + name + "\n" + testing::read_text(cluster() / name);
    return text;
  }
  bool queue_empty() {
    auto r = sh({"/usr/bin/env", "squeue", "-h"});
    return r.exit_code == 0 && r.out.find_first_not_of(" \n") == std::string::npos;
  }

  TempDir dir;
  bool started_ = false;
};

std::map<std::string, std::map<std::string, double>> results(const std::filesystem::path& db,
                                                             const std::string& experiment) {
  store::Store s(db, store::Store::Mode::ReadOnly);
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& run : s.runs(experiment)) {
    EXPECT_EQ(run.status, store::RunStatus::Finished) << db << ": " << run.key;
    auto& metrics = out[run.key];
    for (const auto& [name, value] : s.final_metrics(run.key))
      if (!timing_metric(name)) metrics[name] = value;
  }
  return out;
}

TEST_F(Slurm, ArraySweepMergedEqualsSingleProcessSweep) {
  // Students with a KD term share their seed's teacher, so shards must keep students with their teachers.
  json spec = json::parse(R"({"name": "slurm", "base": {
      "dataset": {"name": "synthetic", "val_size": 0, "train_limit": 200, "test_limit": 100},
      "model": {"name": "lenet"}, "quant": {"method": "r2q"},
      "train": {"epochs": 1, "batch_size": 50, "lr": 0.05}, "eval": {"fgsm_eps": [0, 0.1]}, "threads": 1},
      "grid": {"loss.kd": [0, 1], "seed": [0, 1, 2]}})");
  auto file = dir.write("slurm.json", spec.dump(2)).string();
  const auto sharded = dir / "cluster-runs/slurm.db";
  const auto single = dir / "single/slurm.db";

  auto submitted = sh({(kScripts / "submit").string(), file, sharded.string(), "4", "--cpus-per-task=1"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.out << submitted.err << logs();
  EXPECT_NE(submitted.out.find("(4 tasks)"), std::string::npos) << submitted.out;

  auto alone = sh({kR2q, "sweep", file, "--db", single.string(), "--threads", "1"});
  ASSERT_EQ(alone.exit_code, 0) << alone.err;

  ASSERT_TRUE(testing::wait_until([&] { return queue_empty(); }, std::chrono::seconds(300)))
      << "jobs still queued after 5 minutes" << logs();
  const auto log_dir = sharded.parent_path() / "slurm-logs";
  std::string job_logs;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir))
    job_logs += "\n--- " + entry.path().filename().string() + "\n" + testing::read_text(entry.path());
  ASSERT_TRUE(std::filesystem::exists(sharded)) << "the merge job did not run" << job_logs << logs();

  // Every array task saw its index and the array's size, and wrote its own shard store.
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(
        std::filesystem::exists(sharded.parent_path() / ("slurm.shard" + std::to_string(i) + "-of-4.db")))
        << i << job_logs;
  EXPECT_NE(job_logs.find("shard 3 of 4"), std::string::npos) << job_logs;

  auto from_slurm = results(sharded, "slurm");
  auto from_one = results(single, "slurm");
  EXPECT_EQ(from_slurm.size(), 9u);  // 6 grid points and the teachers of the 3 KD students
  std::set<std::string> keys_slurm, keys_one;
  for (const auto& [key, _] : from_slurm) keys_slurm.insert(key);
  for (const auto& [key, _] : from_one) keys_one.insert(key);
  EXPECT_EQ(keys_slurm, keys_one);
  for (const auto& [key, metrics] : from_one) {
    ASSERT_TRUE(from_slurm.count(key)) << key;
    EXPECT_EQ(from_slurm[key], metrics) << "run " << key << " differs between the array and one process";
  }

  // Merging the same shards again changes nothing.
  auto again =
      sh({kR2q, "merge", sharded.string(), (sharded.parent_path() / "slurm.shard0-of-4.db").string()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(results(sharded, "slurm"), from_slurm);
}

}  // namespace
}  // namespace r2q
