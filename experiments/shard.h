// Sharding a sweep over the tasks of a job array (Slurm, Kubernetes Indexed Jobs): every run belongs to
// exactly one shard, chosen from its run key, so a rerun of the array sends each run to the same shard; a
// student goes to its teacher's shard, so it never waits on another one. Each shard writes its own store
// file.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/spec/spec.h"

namespace r2q::sweep {

struct Shard {
  int index = 0, count = 1;  // 0 <= index < count
};

// "I/N" with 0 <= I < N. Errors are InputErrors that quote the text.
Shard parse_shard(const std::string& text);

// The shard of the current job-array task, from the environment: SLURM_ARRAY_TASK_ID with
// SLURM_ARRAY_TASK_COUNT (or SLURM_ARRAY_TASK_MIN / _MAX), or Kubernetes' JOB_COMPLETION_INDEX with
// R2Q_NUM_SHARDS. nullopt outside a job array. `getenv` is injectable for tests.
std::optional<Shard> shard_from_environment(const std::function<const char*(const char*)>& getenv =
                                                [](const char* name) { return std::getenv(name); });

// The shard (of `count`) a run belongs to: from its teacher's key when it has a teacher, else its own.
int shard_of(const spec::RunSpec& run, int count);

// The runs of one shard, in the experiment's order.
std::vector<spec::RunSpec> shard_runs(const std::vector<spec::RunSpec>& runs, const Shard& shard);

// <dir>/<stem>.shard<I>-of-<N><ext> next to `db`.
std::filesystem::path shard_store_path(const std::filesystem::path& db, const Shard& shard);

}  // namespace r2q::sweep
