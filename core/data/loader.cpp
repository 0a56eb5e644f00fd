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
    auto idx = torch::from_blob(const_cast<int64_t*>(order_.data() + begin), {end - begin}, torch::kInt64);
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

torch::Tensor augment_images(const torch::Tensor& input, int pad, uint64_t seed) {
  torch::Tensor in = input.contiguous();
  int64_t n = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
  torch::Tensor out = torch::zeros_like(in);
  const uint8_t* src = in.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    // Crop offset in the padded image, relative to the original's origin.
    int64_t dy = static_cast<int64_t>(rng.below(2 * pad + 1)) - pad;
    int64_t dx = static_cast<int64_t>(rng.below(2 * pad + 1)) - pad;
    bool flip = rng.below(2) == 1;
    for (int64_t ch = 0; ch < c; ++ch) {
      const uint8_t* plane = src + (i * c + ch) * h * w;
      uint8_t* target = dst + (i * c + ch) * h * w;
      for (int64_t y = 0; y < h; ++y) {
        int64_t sy = y + dy;
        if (sy < 0 || sy >= h) continue;  // stays zero (padding)
        const uint8_t* row = plane + sy * w;
        uint8_t* out_row = target + y * w;
        for (int64_t x = 0; x < w; ++x) {
          int64_t sx = (flip ? w - 1 - x : x) + dx;
          if (sx >= 0 && sx < w) out_row[x] = row[sx];
        }
      }
    }
  }
  return out;
}

}  // namespace r2q::data
