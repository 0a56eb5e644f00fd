// The input affine of format version 2 (InputAffine in model.h): folding a model's input normalisation into
// its first layer, whose input then becomes the pixels' 8-bit codes, and the offset terms of its sums.
#pragma once

#include <cstdint>
#include <vector>

#include "core/deploy/model.h"

namespace r2q::deploy {

// The 8-bit pixel codes of the model input (value 0, the pixels p / 255 in float32): unsigned, scale
// float32(1 / 255), codes [0, 255]. The IR's rounding rule gives p back for every p (tested).
InputQuant pixel_codes();

// Folds a `normalize` layer on the model input into the conv layers that read it, when every reader is a
// conv2d/linear with a float input, integer weights and groups 1: each reader then takes value 0 as pixel
// codes (pixel_codes()) with the input affine offset = 255 * mean, mul = inv_std / 255 (in float32), and the
// normalize layer goes. Mathematically the same layer, x = (p / 255 - mean) * inv_std; the float roundings
// differ (so deployed results match the unfolded model to float tolerance, not bit for bit). Returns whether
// it folded; any other model is left as it is.
bool fold_input_normalize(Model& model);

// sum_c double(mul[c]) * (double(offset[c]) * wsum[c][o]) of an input-affine layer at every output pixel,
// computed once per row class: output rows whose windows cover the same kernel rows inside the image share
// their terms (for a 3x3 kernel with padding 1: the top row, the bottom row, the rest).
struct AffineOffsets {
  int64_t out_w = 0, channels = 0;  // O
  std::vector<int64_t> row_class;   // [out_h]: the class of each output row
  std::vector<double> terms;        // [classes][out_w][O]
  double at(int64_t oy, int64_t ox, int64_t o) const {
    return terms[static_cast<std::size_t>((row_class[static_cast<std::size_t>(oy)] * out_w + ox) * channels +
                                          o)];
  }
  // The O terms of output pixel (oy, ox), contiguous.
  const double* pixel(int64_t oy, int64_t ox) const {
    return terms.data() + (row_class[static_cast<std::size_t>(oy)] * out_w + ox) * channels;
  }
};

// For conv/linear `c` (input affine on) with input shape `in`.
AffineOffsets affine_offsets(const Conv& c, const Shape& in);

}  // namespace r2q::deploy
