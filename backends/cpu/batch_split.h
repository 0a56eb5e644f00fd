// Several threads for an engine that runs on the calling thread (shift-add): a batch is split into contiguous
// slices, each run by its own single-threaded plan on its own thread, and the logits are put back in order.
// Each image's result is the same as in a one-thread run (images are independent), so results are identical.
#pragma once

#include <memory>
#include <vector>

#include "backends/backend.h"

namespace r2q::backends::cpu {

// `plans`: one per thread (at least one), all planned from the same model. A batch of n images uses
// min(n, plans.size()) threads. run_with_accumulators() runs on the first plan alone (it is for tests);
// per-layer times are those of the first plan (the first slice); weight_bytes() counts every plan's copy.
std::unique_ptr<Plan> split_batches(std::vector<std::unique_ptr<Plan>> plans);

}  // namespace r2q::backends::cpu
