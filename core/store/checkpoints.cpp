// Checkpoint paths of a store.
#include "core/store/checkpoints.h"

namespace r2q::store {
namespace {

std::filesystem::path directory_of(const Store& store) {
  return store.path().has_parent_path() ? store.path().parent_path() : std::filesystem::path(".");
}

}  // namespace

std::filesystem::path checkpoint_dir(const Store& store) {
  return directory_of(store) / (store.path().filename().string() + ".checkpoints");
}

std::filesystem::path checkpoint_path(const Store& store, const std::string& run_key) {
  return checkpoint_dir(store) / (run_key + ".pt");
}

std::string recorded_checkpoint_path(const Store& store, const std::filesystem::path& checkpoint) {
  const auto relative = checkpoint.lexically_proximate(directory_of(store));
  return relative.empty() || *relative.begin() == ".." ? checkpoint.string() : relative.string();
}

std::filesystem::path run_checkpoint(const Store& store, const RunRecord& run) {
  if (!run.checkpoint) return checkpoint_path(store, run.key);
  const std::filesystem::path recorded = *run.checkpoint;
  if (recorded.is_absolute()) return recorded;
  const auto dir = directory_of(store);
  std::error_code ec;
  if (std::filesystem::exists(dir / recorded, ec)) return dir / recorded;
  // Recorded relative to the sweep's working directory (runs/checkpoints/KEY.pt): the same directory and file
  // beside the store.
  if (const auto beside = dir / recorded.parent_path().filename() / recorded.filename();
      recorded.has_parent_path() && std::filesystem::exists(beside, ec))
    return beside;
  return dir / recorded;
}

}  // namespace r2q::store
