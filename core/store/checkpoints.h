// Where a store keeps its runs' checkpoints: <store path>.checkpoints/<run key>.pt (runs/r2q.db keeps them in
// runs/r2q.db.checkpoints/), recorded in the store relative to its directory, so that the store and its
// checkpoints can be used from any directory and moved together. The directory is the store's own: two stores
// side by side never resume, overwrite or export each other's checkpoints, although equal configs give equal
// run keys. Stores written before (one shared <store directory>/checkpoints/) keep working: a run resumes
// from and exports the checkpoint its store recorded.
#pragma once

#include <filesystem>
#include <string>

#include "core/store/store.h"

namespace r2q::store {

std::filesystem::path checkpoint_dir(const Store& store);
// Where a run of this store checkpoints when the store has recorded none for it.
std::filesystem::path checkpoint_path(const Store& store, const std::string& run_key);
// A checkpoint path as the store records it: relative to the store's directory when it lies below it.
std::string recorded_checkpoint_path(const Store& store, const std::filesystem::path& checkpoint);
// Where a run's checkpoint is: its recorded path resolved against the store's directory (stores that recorded
// it relative to the sweep's working directory are found beside the store, in either layout), or the default
// path when the store has recorded none.
std::filesystem::path run_checkpoint(const Store& store, const RunRecord& run);

}  // namespace r2q::store
