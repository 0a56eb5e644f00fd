// Where a store keeps its runs' checkpoints: <store directory>/checkpoints/<run key>.pt, recorded in the
// store relative to its directory, so that the store and its checkpoints can be used from any directory and
// moved together.
#pragma once

#include <filesystem>
#include <string>

#include "core/store/store.h"

namespace r2q::store {

std::filesystem::path checkpoint_dir(const Store& store);
std::filesystem::path checkpoint_path(const Store& store, const std::string& run_key);
// A checkpoint path as the store records it: relative to the store's directory when it lies below it.
std::string recorded_checkpoint_path(const Store& store, const std::filesystem::path& checkpoint);
// Where a run's checkpoint is: its recorded path resolved against the store's directory (stores that recorded
// it relative to the sweep's working directory are found beside the store), or the default path.
std::filesystem::path run_checkpoint(const Store& store, const RunRecord& run);

}  // namespace r2q::store
