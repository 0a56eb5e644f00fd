// Mini-batches of a dataset: deterministic order and augmentation derived from (seed, epoch, batch), so that
// a run resumed from an epoch checkpoint sees exactly the batches the uninterrupted run would have seen.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/data/dataset.h"

namespace r2q::data {

struct Batch {
  torch::Tensor images;  // float32 [B, C, H, W], pixels in [0, 1]
  torch::Tensor labels;  // int64 [B]
};

struct LoaderOptions {
  std::int64_t batch_size = 128;
  bool shuffle = false;
  // In-memory data: random crop with `pad` zero padding, then horizontal flip with probability 1/2. On-demand
  // data: the source's training transform.
  bool augment = false;
  int pad = 4;
  bool drop_last = false;  // training drops the incomplete last batch (BatchNorm needs > 1 sample)
  std::uint64_t seed = 0;
  std::int64_t epoch = 0;
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& data, const LoaderOptions& options);
  std::int64_t size() const { return batches_; }
  Batch operator[](std::int64_t index) const;

 private:
  const Dataset& data_;
  LoaderOptions options_;
  std::vector<std::int64_t> order_;
  torch::Tensor order_index_;  // order_ on the images' device (a view of order_ on the CPU)
  std::int64_t batches_ = 0;
};

// The batch on `device` (in-memory data already is; on-demand data decodes on the host).
Batch on_device(Batch batch, const torch::Device& device);

// Random crop + flip of uint8 images, in place semantics: returns a new tensor of the same shape.
torch::Tensor augment_images(const torch::Tensor& images, int pad, std::uint64_t seed);

}  // namespace r2q::data
