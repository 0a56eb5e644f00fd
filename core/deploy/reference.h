// The reference interpreter of deployment models: plain scalar loops that define what every backend must
// compute. Integer accumulators are exact (backends must match them bit for bit); float results are float32
// as documented at each op in model.h (backends match them to float tolerance).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/deploy/codes.h"
#include "core/deploy/model.h"

namespace r2q::deploy {

// A batch of tensors [n, C, H, W], row-major (NCHW).
template <typename T>
struct Batch {
  int64_t n = 0;
  Shape shape;
  std::vector<T> data;

  Batch() = default;
  Batch(int64_t batch, Shape s) : n(batch), shape(s), data(static_cast<std::size_t>(batch * s.size())) {}
  T& at(int64_t b, int64_t c, int64_t y, int64_t x) { return data[index(b, c, y, x)]; }
  const T& at(int64_t b, int64_t c, int64_t y, int64_t x) const { return data[index(b, c, y, x)]; }
  std::size_t index(int64_t b, int64_t c, int64_t y, int64_t x) const {
    return static_cast<std::size_t>(((b * shape.c + c) * shape.h + y) * shape.w + x);
  }
  bool operator==(const Batch&) const = default;
};

using FloatBatch = Batch<float>;
using IntBatch = Batch<int32_t>;

struct ReferenceOptions {
  bool keep_accumulators = false;  // every integer conv/linear layer's accumulators
  bool keep_values = false;        // every value's float tensor
};

struct ReferenceResult {
  FloatBatch logits;  // [n, classes, 1, 1]
  // By layer index: [n, O, OH, OW], before mul/bias/activation; an input-affine layer's per input channel,
  // [n, C * O, OH, OW] with channel c's sums at c * O + o.
  std::map<std::size_t, IntBatch> accumulators;
  std::map<int, FloatBatch> values;  // by value id, the input (0) included
};

// Runs `model` (which must pass validate()) on `input` (shape model.input, finite). Throws InputError for a
// wrong input shape, a non-finite input, or a model that does not validate.
ReferenceResult run_reference(const Model& model, const FloatBatch& input,
                              const ReferenceOptions& options = {});

// The integer accumulators of one conv/linear layer with integer weights and input, from its input codes
// [n, C, H, W]: what an integer kernel must produce for the same codes. Sums in int64 and throws InputError
// if one leaves int32 (validate() rules that out for codes in range). An input-affine layer's are per input
// channel, [n, C * O, OH, OW] (ReferenceResult::accumulators).
IntBatch integer_accumulators(const Layer& layer, const IntBatch& input_codes);

// The epilogue of an input-affine layer (InputAffine) with input shape `in` from its per-channel accumulators
// (integer_accumulators): float(t) * mul[o] + bias[o], then `a`, as [n, O, OH, OW].
FloatBatch input_affine_epilogue(const IntBatch& acc, const Conv& c, const Shape& in, Activation a);

// Input codes of a quantized conv/linear layer: quantize_activation of every element.
IntBatch quantize_batch(const FloatBatch& x, const InputQuant& q);

}  // namespace r2q::deploy
