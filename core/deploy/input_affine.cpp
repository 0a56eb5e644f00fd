#include "core/deploy/input_affine.h"

#include <algorithm>
#include <map>
#include <utility>

#include "core/deploy/codes.h"

namespace r2q::deploy {

InputQuant pixel_codes() {
  return {.kind = ActKind::Unsigned, .bits = 8, .scale = 1.0f / 255.0f, .min_code = 0, .max_code = 255};
}

bool fold_input_normalize(Model& model) {
  const auto norm = std::find_if(model.layers.begin(), model.layers.end(), [](const Layer& l) {
    return l.op == Op::Normalize && l.inputs == std::vector<int>{kInputValue};
  });
  if (norm == model.layers.end() || norm->output == model.output) return false;
  std::vector<Layer*> readers;
  for (Layer& l : model.layers)
    if (std::find(l.inputs.begin(), l.inputs.end(), norm->output) != l.inputs.end()) readers.push_back(&l);
  if (readers.empty()) return false;
  for (const Layer* r : readers) {
    const Conv& c = r->conv;
    if ((r->op != Op::Conv2d && r->op != Op::Linear) || r->inputs.size() != 1 ||
        c.input_quant.kind != ActKind::None || c.weights.format == WeightFormat::Float || c.groups != 1 ||
        c.input_affine.on)
      return false;
  }
  const NormalizeParams& n = norm->normalize;
  InputAffine affine;
  affine.on = true;
  for (std::size_t ch = 0; ch < n.mean.size(); ++ch) {
    affine.offset.push_back(255.0f * n.mean[ch]);
    affine.mul.push_back(n.inv_std[ch] / 255.0f);
  }
  for (Layer* r : readers) {
    r->inputs = {kInputValue};
    r->conv.input_quant = pixel_codes();
    r->conv.input_affine = affine;
  }
  model.layers.erase(norm);
  return true;
}

AffineOffsets affine_offsets(const Conv& c, const Shape& in) {
  AffineOffsets out;
  const int64_t out_h = (in.h + 2 * c.pad_h - c.kernel_h) / c.stride_h + 1;
  out.out_w = (in.w + 2 * c.pad_w - c.kernel_w) / c.stride_w + 1;
  out.channels = c.out_channels;
  // The kernel rows [lo, hi) inside the image, for an output row or column.
  const auto inside = [](int64_t o, int64_t stride, int64_t pad, int64_t kernel, int64_t size) {
    const int64_t first = o * stride - pad;
    return std::pair{std::max<int64_t>(0, -first), std::min(kernel, size - first)};
  };
  std::map<std::pair<int64_t, int64_t>, int64_t> classes;
  std::vector<std::pair<int64_t, int64_t>> rows;
  for (int64_t oy = 0; oy < out_h; ++oy) {
    const auto range = inside(oy, c.stride_h, c.pad_h, c.kernel_h, in.h);
    const auto [it, added] = classes.emplace(range, static_cast<int64_t>(rows.size()));
    if (added) rows.push_back(range);
    out.row_class.push_back(it->second);
  }
  const std::vector<int32_t> w = weight_codes(c);
  const int64_t k = c.k(), taps = c.kernel_h * c.kernel_w;
  out.terms.assign(static_cast<std::size_t>(static_cast<int64_t>(rows.size()) * out.out_w * out.channels),
                   0.0);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (int64_t ox = 0; ox < out.out_w; ++ox) {
      const auto [kx_lo, kx_hi] = inside(ox, c.stride_w, c.pad_w, c.kernel_w, in.w);
      for (int64_t o = 0; o < c.out_channels; ++o) {
        double term = 0;
        for (int64_t ci = 0; ci < c.in_channels; ++ci) {
          int64_t wsum = 0;
          for (int64_t ky = rows[r].first; ky < rows[r].second; ++ky)
            for (int64_t kx = kx_lo; kx < kx_hi; ++kx)
              wsum += w[static_cast<std::size_t>(o * k + ci * taps + ky * c.kernel_w + kx)];
          const auto ch = static_cast<std::size_t>(ci);
          const double offset = static_cast<double>(c.input_affine.offset[ch]) * static_cast<double>(wsum);
          term += static_cast<double>(c.input_affine.mul[ch]) * offset;
        }
        out.terms[static_cast<std::size_t>((static_cast<int64_t>(r) * out.out_w + ox) * out.channels + o)] =
            term;
      }
    }
  return out;
}

}  // namespace r2q::deploy
