// Batching, shuffling and augmentation.
#include "core/data/loader.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstring>
#include <numeric>

#include "core/util/rng.h"

namespace r2q::data {

BatchLoader::BatchLoader(const Dataset& data, const LoaderOptions& options) : data_(data), options_(options) {
  int64_t n = data.size();
  order_.resize(static_cast<size_t>(n));
  std::iota(order_.begin(), order_.end(), 0);
  if (options.shuffle) {
    Rng rng = Rng::derive(options.seed, static_cast<uint64_t>(options.epoch), 0xFFFF'FFFFull);
    for (int64_t i = n - 1; i > 0; --i) std::swap(order_[i], order_[rng.below(static_cast<uint64_t>(i) + 1)]);
  }
  batches_ = options.drop_last ? n / options.batch_size : (n + options.batch_size - 1) / options.batch_size;
  // The epoch's order as an index on the images' device (once per epoch): batches are slices of it.
  if (options.shuffle && data.images.defined()) {
    order_index_ = torch::from_blob(order_.data(), {n}, torch::kInt64);
    if (!data.images.is_cpu()) order_index_ = order_index_.to(data.images.device());
  }
}

Batch BatchLoader::operator[](int64_t index) const {
  int64_t begin = index * options_.batch_size;
  int64_t end = std::min<int64_t>(begin + options_.batch_size, data_.size());
  torch::Tensor images, labels;
  if (data_.source) {
    // On-demand: decode every image of the batch, in parallel over LibTorch's intra-op threads.
    const int64_t n = end - begin;
    std::vector<torch::Tensor> decoded(static_cast<size_t>(n));
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      rows[static_cast<size_t>(i)] = options_.shuffle ? order_[begin + i] : begin + i;
    const auto* indices = data_.indices.data_ptr<int64_t>();
    at::parallel_for(0, n, 1, [&](int64_t from, int64_t to) {
      for (int64_t i = from; i < to; ++i) {
        int64_t row = rows[static_cast<size_t>(i)];
        uint64_t seed =
            Rng::derive(options_.seed, static_cast<uint64_t>(options_.epoch), static_cast<uint64_t>(row))
                .next();
        decoded[static_cast<size_t>(i)] = data_.source->load(indices[row], options_.augment, seed);
      }
    });
    auto idx = torch::tensor(rows, torch::kInt64);
    return {torch::stack(decoded).to(torch::kFloat32).div_(255.0f), data_.labels.index_select(0, idx)};
  }
  if (!options_.shuffle) {
    images = data_.images.slice(0, begin, end);
    labels = data_.labels.slice(0, begin, end);
  } else {
    const torch::Tensor idx = order_index_.slice(0, begin, end);
    images = data_.images.index_select(0, idx);
    labels = data_.labels.index_select(0, idx);
  }
  if (options_.augment)
    images = augment_images(
        images, options_.pad,
        Rng::derive(options_.seed, static_cast<uint64_t>(options_.epoch), static_cast<uint64_t>(index))
            .next());
  return {images.to(torch::kFloat32).div_(255.0f), labels};
}

Batch on_device(Batch batch, const torch::Device& device) {
  if (batch.images.device() != device) batch.images = batch.images.to(device);
  if (batch.labels.device() != device) batch.labels = batch.labels.to(device);
  return batch;
}

torch::Tensor augment_images(const torch::Tensor& input, int pad, uint64_t seed) {
  const int64_t n = input.size(0), c = input.size(1), h = input.size(2), w = input.size(3);
  // The draws are r2q's own generator's, on the host (3 per image, a few hundred bytes per batch), so that a
  // run crops the same images on every device; applying them is batched tensor work on the images' device.
  Rng rng(seed);
  std::vector<int64_t> rows(static_cast<size_t>(n * h)), cols(static_cast<size_t>(n * w));
  for (int64_t i = 0; i < n; ++i) {
    // Crop offset in the padded image, relative to the original's origin.
    const int64_t dy = static_cast<int64_t>(rng.below(2 * pad + 1)) - pad;
    const int64_t dx = static_cast<int64_t>(rng.below(2 * pad + 1)) - pad;
    const bool flip = rng.below(2) == 1;
    for (int64_t y = 0; y < h; ++y) rows[static_cast<size_t>(i * h + y)] = y + dy + pad;
    for (int64_t x = 0; x < w; ++x) cols[static_cast<size_t>(i * w + x)] = (flip ? w - 1 - x : x) + dx + pad;
  }
  const auto index_options = torch::TensorOptions().dtype(torch::kInt64);
  const torch::Tensor row_index = torch::from_blob(rows.data(), {n, 1, h, 1}, index_options)
                                      .to(input.device())
                                      .expand({n, c, h, w + 2 * pad});
  const torch::Tensor col_index =
      torch::from_blob(cols.data(), {n, 1, 1, w}, index_options).to(input.device()).expand({n, c, h, w});
  // Zero padding, then the rows of each image's crop, then its columns (mirrored when flipped).
  const torch::Tensor padded = torch::constant_pad_nd(input, {pad, pad, pad, pad});
  return padded.gather(2, row_index).gather(3, col_index);
}

}  // namespace r2q::data
