// Shards: a partition of the runs, stable across reruns, students with their teachers; job-array detection.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/spec/spec.h"
#include "core/util/error.h"
#include "experiments/shard.h"

namespace r2q::sweep {
namespace {

spec::Experiment grid() {
  return spec::parse_experiment(R"({"name": "g", "grid": {"quant.method": ["r2q", "lsq", "dorefa"],
      "loss.kd": [0, 1], "seed": [0, 1, 2, 3]}})",
                                "g.json");
}

TEST(Shard, EveryRunIsInExactlyOneShardAndStudentsAreWithTheirTeacher) {
  auto exp = grid();
  ASSERT_EQ(exp.runs.size(), 28u);  // 24 points and 4 teachers (one per seed)
  for (int count : {1, 2, 3, 4, 7}) {
    std::map<std::string, int> where;
    std::size_t total = 0;
    for (int i = 0; i < count; ++i) {
      auto runs = shard_runs(exp.runs, {i, count});
      total += runs.size();
      for (const auto& run : runs) EXPECT_TRUE(where.emplace(run.key, i).second) << run.key;
    }
    EXPECT_EQ(total, exp.runs.size()) << count;
    for (const auto& run : exp.runs)
      if (!run.teacher_key.empty()) {
        EXPECT_EQ(where.at(run.key), where.at(run.teacher_key)) << count;
      }
  }
  // Stable: the same spec parsed again shards the same way.
  auto again = grid();
  for (size_t i = 0; i < exp.runs.size(); ++i)
    EXPECT_EQ(shard_of(exp.runs[i], 4), shard_of(again.runs[i], 4));
  // And it spreads: with 4 seeds' teachers over 2 shards, not everything lands in one.
  std::set<int> used;
  for (const auto& run : exp.runs) used.insert(shard_of(run, 2));
  EXPECT_EQ(used.size(), 2u);
}

TEST(Shard, ParseAndStorePath) {
  EXPECT_EQ(parse_shard("0/4").index, 0);
  EXPECT_EQ(parse_shard("3/4").count, 4);
  for (const char* bad : {"4/4", "1", "a/b", "-1/3", "0/0", "1/2/3"})
    EXPECT_THROW(parse_shard(bad), InputError) << bad;
  EXPECT_EQ(shard_store_path("runs/r2q.db", {2, 8}), std::filesystem::path("runs/r2q.shard2-of-8.db"));
}

TEST(Shard, DetectsSlurmArraysAndKubernetesIndexedJobs) {
  auto env = [](std::map<std::string, std::string> vars) {
    return [vars](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  };
  EXPECT_FALSE(shard_from_environment(env({})).has_value());
  auto slurm = shard_from_environment(env({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
  ASSERT_TRUE(slurm);
  EXPECT_EQ(slurm->index, 2);
  EXPECT_EQ(slurm->count, 4);
  // --array=1-4: ids 1..4 map to shards 0..3.
  auto ranged = shard_from_environment(
      env({{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "4"}}));
  EXPECT_EQ(ranged->index, 3);
  EXPECT_EQ(ranged->count, 4);
  auto k8s = shard_from_environment(env({{"JOB_COMPLETION_INDEX", "5"}, {"R2Q_NUM_SHARDS", "6"}}));
  EXPECT_EQ(k8s->index, 5);
  EXPECT_THROW(shard_from_environment(env({{"JOB_COMPLETION_INDEX", "5"}})), InputError);
  EXPECT_THROW(shard_from_environment(env({{"JOB_COMPLETION_INDEX", "6"}, {"R2Q_NUM_SHARDS", "6"}})),
               InputError);
}

}  // namespace
}  // namespace r2q::sweep
