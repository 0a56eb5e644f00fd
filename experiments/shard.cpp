// Shards.
#include "experiments/shard.h"

#include <cstdint>
#include <cstdlib>
#include <regex>

#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::sweep {
namespace {

std::optional<long> number(const char* text) {
  if (!text || !*text) return std::nullopt;
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (*end != '\0') return std::nullopt;
  return v;
}

Shard checked(long index, long count, const std::string& what) {
  if (count < 1 || count > 100000 || index < 0 || index >= count)
    throw InputError(what + ": shard " + std::to_string(index) + " of " + std::to_string(count) +
                     " is not a shard (need 0 <= index < count <= 100000)");
  return {static_cast<int>(index), static_cast<int>(count)};
}

}  // namespace

Shard parse_shard(const std::string& text) {
  static const std::regex pattern(R"((\d{1,6})/(\d{1,6}))");
  std::smatch m;
  if (!std::regex_match(text, m, pattern))
    throw InputError("--shard: expected INDEX/COUNT with 0 <= INDEX < COUNT (e.g. 0/4), got " +
                     quoted_value(text));
  return checked(std::stol(m[1]), std::stol(m[2]), "--shard " + text);
}

std::optional<Shard> shard_from_environment(const std::function<const char*(const char*)>& getenv) {
  if (auto id = number(getenv("SLURM_ARRAY_TASK_ID"))) {
    const auto min = number(getenv("SLURM_ARRAY_TASK_MIN")).value_or(0);
    auto count = number(getenv("SLURM_ARRAY_TASK_COUNT"));
    if (!count) {
      auto max = number(getenv("SLURM_ARRAY_TASK_MAX"));
      if (!max) throw InputError("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor _MAX is");
      count = *max - min + 1;
    }
    return checked(*id - min, *count, "Slurm array task");
  }
  if (auto index = number(getenv("JOB_COMPLETION_INDEX"))) {
    auto count = number(getenv("R2Q_NUM_SHARDS"));
    if (!count)
      throw InputError("JOB_COMPLETION_INDEX is set: set R2Q_NUM_SHARDS to the Job's completions as well");
    return checked(*index, *count, "Kubernetes Indexed Job");
  }
  return std::nullopt;
}

int shard_of(const spec::RunSpec& run, int count) {
  const std::string& key = run.teacher_key.empty() ? run.key : run.teacher_key;
  const std::uint64_t h = std::stoull(key.substr(0, 15), nullptr, 16);  // 60 bits of SHA-256
  return static_cast<int>(h % static_cast<std::uint64_t>(count));
}

std::vector<spec::RunSpec> shard_runs(const std::vector<spec::RunSpec>& runs, const Shard& shard) {
  std::vector<spec::RunSpec> out;
  for (const auto& run : runs)
    if (shard_of(run, shard.count) == shard.index) out.push_back(run);
  return out;
}

std::filesystem::path shard_store_path(const std::filesystem::path& db, const Shard& shard) {
  std::filesystem::path out = db;
  out.replace_filename(db.stem().string() + ".shard" + std::to_string(shard.index) + "-of-" +
                       std::to_string(shard.count) + db.extension().string());
  return out;
}

}  // namespace r2q::sweep
