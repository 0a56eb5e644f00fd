// The CPU backend's oneDNN engines, "onednn-fp32" and "onednn-int8".
// fp32: every conv/linear a oneDNN f32 primitive on dequantised weights (the fp32 reference for speed);
// int8: integer layers as u8/s8 x s8 -> s32 primitives whose accumulators equal the reference's exactly.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace r2q::backends::cpu {

// Both validate `model` and keep its weights in user form (f32 or s8); primitives, oneDNN's weight layouts
// and buffers are planned for batch 1 here and for another batch size on its first run, and reused by later
// runs of that size (one size at a time: a new size replaces the last one's plan). options.threads (>= 1) is
// the OpenMP thread count oneDNN runs with during run(); the caller's setting is restored afterwards. A
// second run of a batch size allocates no buffers, though oneDNN 2.6's execute() puts its argument list on
// the heap (a few small allocations per primitive). Throws InputError for an invalid model or threads < 1,
// RunError if oneDNN declines a layer.
std::unique_ptr<Plan> plan_onednn_fp32(const deploy::Model& model, const PlanOptions& options);
// Integer conv/linear layers run as oneDNN int8 where that is provably exact on this CPU (VNNI/AMX, or u8
// inputs whose int16 pairs cannot saturate), else as a oneDNN f32 convolution over the codes when every sum
// is below 2^24, else through the reference's integer loops. Other conv/linear layers (a float side) and
// every other op run plain loops in the reference's order and precision, so that logits are bit-identical to
// it.
std::unique_ptr<Plan> plan_onednn_int8(const deploy::Model& model, const PlanOptions& options);

}  // namespace r2q::backends::cpu
