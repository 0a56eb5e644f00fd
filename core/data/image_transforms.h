// The ImageNet training and evaluation transforms (torchvision's RandomResizedCrop + RandomHorizontalFlip,
// and Resize + CenterCrop) on uint8 [3, H, W] images, with every random choice drawn from r2q::Rng.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "core/util/rng.h"

namespace r2q::data {

struct CropBox {
  std::int64_t top = 0, left = 0, height = 0, width = 0;
};

// torchvision's RandomResizedCrop.get_params with scale (0.08, 1) and aspect ratio (3/4, 4/3): 10 attempts at
// a random area and log-uniform aspect ratio, then the largest central crop within the ratio range.
CropBox random_resized_crop_box(std::int64_t height, std::int64_t width, Rng& rng);

// Bilinear resize with antialiasing (as torchvision and PIL do when shrinking), rounded back to uint8.
torch::Tensor resize_image(const torch::Tensor& image, std::int64_t height, std::int64_t width);

// The shorter side the evaluation transform resizes to before cropping `size`: 256 for 224.
std::int64_t eval_resize_side(std::int64_t size);

// Random resized crop to size x size, then a horizontal flip with probability 1/2; a function of `seed`.
torch::Tensor train_transform(const torch::Tensor& image, std::int64_t size, std::uint64_t seed);

// Shorter side to eval_resize_side(size), then the central size x size crop.
torch::Tensor eval_transform(const torch::Tensor& image, std::int64_t size);

}  // namespace r2q::data
