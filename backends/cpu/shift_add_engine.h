// The CPU backend's "shift-add" engine: executes a whole deploy::Model, its odd bit-plane layers with
// unsigned inputs through the shift-add kernels (shift_add_conv.h) and every other layer through plain loops
// that compute what the reference interpreter computes.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace r2q::backends::cpu {

// Validates `model` and plans it: packs the kernel layers' weight bit-planes once, resolves the ISA
// (options.isa, "auto" honouring R2Q_KERNEL_ISA) and lays out the activation buffers. Throws InputError for
// an invalid model, an unknown or unavailable ISA, or threads < 1. A second run of a batch size allocates
// nothing, except in layers on the integer loops (int8 weights, signed inputs: deploy::integer_accumulators).
// With options.threads > 1, a batch is split across that many plans, one per thread, and each thread runs its
// slice a few images at a time (cpu/batch_split.h).
std::unique_ptr<Plan> plan_shift_add(const deploy::Model& model, const PlanOptions& options);

}  // namespace r2q::backends::cpu
