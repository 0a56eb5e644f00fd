// Synthetic class-prototype datasets.
#include "core/data/synthetic.h"

#include <torch/torch.h>

#include <cmath>

#include "core/util/rng.h"

namespace r2q::data {
namespace {

// One sample set: pixel = 255 * clamp(0.65 * prototype + 0.35 * noise). Prototypes are bilinear upsamplings
// of a random 4x4 grid per channel, so classes differ in coarse structure that small CNNs learn in one epoch.
Dataset generate(const torch::Tensor& prototypes, int64_t n, Rng& rng) {
  int64_t classes = prototypes.size(0), c = prototypes.size(1), s = prototypes.size(2);
  Dataset d{torch::empty({n, c, s, s}, torch::kUInt8), torch::empty({n}, torch::kInt64)};
  auto* out = d.images.data_ptr<uint8_t>();
  auto* labels = d.labels.data_ptr<int64_t>();
  const float* proto = prototypes.data_ptr<float>();
  int64_t pixels = c * s * s;
  for (int64_t i = 0; i < n; ++i) {
    int64_t label = static_cast<int64_t>(rng.below(static_cast<uint64_t>(classes)));
    labels[i] = label;
    for (int64_t p = 0; p < pixels; ++p) {
      double v = 0.65 * proto[label * pixels + p] + 0.35 * rng.uniform();
      out[i * pixels + p] = static_cast<uint8_t>(std::lround(255.0 * std::clamp(v, 0.0, 1.0)));
    }
  }
  return d;
}

}  // namespace

RawData make_synthetic(const std::string& name, const SyntheticShape& shape) {
  Rng rng = Rng::derive(0x5EED, shape.channels, shape.size);
  torch::Tensor grid = torch::empty({shape.classes, shape.channels, 4, 4});
  auto* g = grid.data_ptr<float>();
  for (int64_t i = 0; i < grid.numel(); ++i) g[i] = static_cast<float>(rng.uniform());
  namespace F = torch::nn::functional;
  torch::Tensor prototypes = F::interpolate(grid, F::InterpolateFuncOptions()
                                                      .size(std::vector<int64_t>{shape.size, shape.size})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(true))
                                 .contiguous();
  RawData raw;
  raw.train = generate(prototypes, shape.train, rng);
  raw.test = generate(prototypes, shape.test, rng);
  raw.info.name = name;
  raw.info.channels = shape.channels;
  raw.info.height = raw.info.width = shape.size;
  raw.info.classes = shape.classes;
  raw.info.mean.assign(static_cast<size_t>(shape.channels), 0.5);
  raw.info.std.assign(static_cast<size_t>(shape.channels), 0.25);
  raw.info.root = "(generated)";
  return raw;
}

}  // namespace r2q::data
