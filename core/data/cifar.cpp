// CIFAR-10 binary batches.
#include "core/data/cifar.h"

#include <torch/torch.h>

#include <cstring>

#include "core/data/files.h"
#include "core/util/error.h"
#include "core/util/sha256.h"

namespace r2q::data {

namespace {
constexpr int64_t kPixels = 3 * 32 * 32;
constexpr int64_t kRecord = 1 + kPixels;
}  // namespace

Dataset decode_cifar10(const std::string& bytes, const std::filesystem::path& path) {
  if (bytes.empty() || bytes.size() % kRecord != 0)
    throw InputError(path.string() + ": not a CIFAR-10 binary batch (size " + std::to_string(bytes.size()) +
                     " is not a positive multiple of the 3073-byte record; truncated?)");
  int64_t n = static_cast<int64_t>(bytes.size()) / kRecord;
  Dataset d{torch::empty({n, 3, 32, 32}, torch::kUInt8), torch::empty({n}, torch::kInt64)};
  auto* images = d.images.data_ptr<uint8_t>();
  auto* labels = d.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const char* record = bytes.data() + i * kRecord;
    auto label = static_cast<unsigned char>(record[0]);
    if (label > 9)
      throw InputError(path.string() + ": record " + std::to_string(i) + " has label " +
                       std::to_string(label) + " (expected 0-9); not a CIFAR-10 batch?");
    labels[i] = label;
    std::memcpy(images + i * kPixels, record + 1, kPixels);
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
