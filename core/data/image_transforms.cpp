// Crops, flips and antialiased resizing for image-folder datasets, reproducing torchvision's arithmetic
// (including Python's round-half-to-even) so that r2q's ImageNet numbers are comparable with published ones.
#include "core/data/image_transforms.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace r2q::data {
namespace {

// Python's round(): ties to even, which std::nearbyint gives in the default rounding mode.
std::int64_t py_round(double x) {
  return static_cast<std::int64_t>(std::nearbyint(x));
}

torch::Tensor crop(const torch::Tensor& image, const CropBox& box) {
  return image.slice(1, box.top, box.top + box.height).slice(2, box.left, box.left + box.width);
}

}  // namespace

CropBox random_resized_crop_box(std::int64_t height, std::int64_t width, Rng& rng) {
  constexpr double kMinScale = 0.08, kMaxScale = 1.0;
  constexpr double kMinRatio = 3.0 / 4.0, kMaxRatio = 4.0 / 3.0;
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const double log_min = std::log(kMinRatio), log_max = std::log(kMaxRatio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * (kMinScale + (kMaxScale - kMinScale) * rng.uniform());
    const double ratio = std::exp(log_min + (log_max - log_min) * rng.uniform());
    const std::int64_t w = py_round(std::sqrt(target_area * ratio));
    const std::int64_t h = py_round(std::sqrt(target_area / ratio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const auto top = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(height - h + 1)));
      const auto left = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(width - w + 1)));
      return {top, left, h, w};
    }
  }
  // Very elongated images rarely fit a sampled box; take the largest central crop of an allowed ratio.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  std::int64_t w = width, h = height;
  if (in_ratio < kMinRatio) {
    h = std::clamp<std::int64_t>(py_round(static_cast<double>(w) / kMinRatio), 1, height);
  } else if (in_ratio > kMaxRatio) {
    w = std::clamp<std::int64_t>(py_round(static_cast<double>(h) * kMaxRatio), 1, width);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

torch::Tensor resize_image(const torch::Tensor& image, std::int64_t height, std::int64_t width) {
  if (image.size(1) == height && image.size(2) == width) return image;
  namespace F = torch::nn::functional;
  torch::Tensor in = image.unsqueeze(0).to(torch::kFloat32);
  torch::Tensor out = F::interpolate(in, F::InterpolateFuncOptions()
                                             .size(std::vector<std::int64_t>{height, width})
                                             .mode(torch::kBilinear)
                                             .align_corners(false)
                                             .antialias(true));
  return out.squeeze(0).round_().clamp_(0, 255).to(torch::kUInt8);
}

std::int64_t eval_resize_side(std::int64_t size) {
  return py_round(static_cast<double>(size) * 256.0 / 224.0);
}

torch::Tensor train_transform(const torch::Tensor& image, std::int64_t size, std::uint64_t seed) {
  Rng rng(seed);
  const CropBox box = random_resized_crop_box(image.size(1), image.size(2), rng);
  torch::Tensor out = resize_image(crop(image, box), size, size);
  if (rng.uniform() < 0.5) out = out.flip({2});
  return out.contiguous();
}

torch::Tensor eval_transform(const torch::Tensor& image, std::int64_t size) {
  const std::int64_t h = image.size(1), w = image.size(2);
  const std::int64_t side = eval_resize_side(size);
  // torchvision's Resize(int) truncates the longer side.
  const std::int64_t new_h = h <= w ? side : side * h / w;
  const std::int64_t new_w = h <= w ? side * w / h : side;
  torch::Tensor resized = resize_image(image, new_h, new_w);
  // CenterCrop rounds the offsets (half to even).
  const CropBox box{py_round(static_cast<double>(new_h - size) / 2.0),
                    py_round(static_cast<double>(new_w - size) / 2.0), size, size};
  return crop(resized, box).contiguous();
}

}  // namespace r2q::data
