// CIFAR-10 binary batches as tensors; the checks are cifar_format.cpp's.
#include "core/data/cifar.h"

#include <torch/torch.h>

#include <cstring>

#include "core/data/cifar_format.h"
#include "core/data/files.h"
#include "core/util/sha256.h"

namespace r2q::data {

Dataset decode_cifar10(const std::string& bytes, const std::filesystem::path& path) {
  Cifar10Records records = parse_cifar10(bytes, path);
  auto n = static_cast<int64_t>(records.size());
  Dataset d{torch::empty({n, 3, 32, 32}, torch::kUInt8), torch::empty({n}, torch::kInt64)};
  auto* images = d.images.data_ptr<uint8_t>();
  auto* labels = d.labels.data_ptr<int64_t>();
  for (size_t i = 0; i < records.size(); ++i) {
    labels[i] = records.label(i);
    std::memcpy(images + i * Cifar10Records::kPixels, records.pixels(i).data(), Cifar10Records::kPixels);
  }
  return d;
}

Dataset read_cifar10(const std::vector<std::filesystem::path>& files, std::string* fingerprint_material) {
  std::vector<torch::Tensor> images, labels;
  for (const auto& f : files) {
    std::string bytes = read_file(f);
    if (fingerprint_material) *fingerprint_material += sha256_hex(bytes);
    Dataset d = decode_cifar10(bytes, f);
    images.push_back(d.images);
    labels.push_back(d.labels);
  }
  return {torch::cat(images), torch::cat(labels)};
}

}  // namespace r2q::data
