// Batches for an engine that runs on the calling thread (shift-add): a batch is split into contiguous slices,
// one per thread, each run by its own single-threaded plan, and each slice in chunks of a few images, so that
// a layer's activations stay in the core's cache instead of streaming a whole batch through memory layer by
// layer. Each image's result is the same as in a run of that image alone (images are independent).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backends/backend.h"

namespace r2q::backends::cpu {

// `plans`: one per thread (at least one), all planned from `model`. A batch of n images uses min(n,
// plans.size()) threads; each runs its slice `chunk` images at a time (>= 1). run_with_accumulators() runs
// the whole batch on the first plan (it is for tests); per-layer times are the first plan's last chunk's;
// weight_bytes() counts every plan's copy.
std::unique_ptr<Plan> split_batches(std::vector<std::unique_ptr<Plan>> plans, const deploy::Model& model,
                                    int64_t chunk);

// The chunk that keeps one chunk's largest activation (float32) within `cache_bytes`: at least 1.
int64_t chunk_for_cache(const deploy::Model& model, std::size_t cache_bytes);

}  // namespace r2q::backends::cpu
