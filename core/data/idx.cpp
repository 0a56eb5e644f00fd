// IDX files as tensors; the decoding and checks are idx_format.cpp's.
#include "core/data/idx.h"

#include <torch/torch.h>

#include <cstring>

#include "core/data/files.h"
#include "core/data/idx_format.h"
#include "core/util/sha256.h"

namespace r2q::data {

namespace {

torch::Tensor to_tensor(const IdxArray& array) {
  torch::Tensor t = torch::empty(array.shape, torch::kUInt8);
  if (!array.data.empty()) std::memcpy(t.data_ptr<uint8_t>(), array.data.data(), array.data.size());
  return t;
}

}  // namespace

torch::Tensor decode_idx(const std::string& bytes, const std::filesystem::path& path) {
  return to_tensor(parse_idx(bytes, path));
}

IdxPair read_idx_pair(const std::filesystem::path& images_path, const std::filesystem::path& labels_path,
                      int classes, std::string* fingerprint_material) {
  std::string image_bytes = read_file(images_path);
  std::string label_bytes = read_file(labels_path);
  if (fingerprint_material) *fingerprint_material += sha256_hex(image_bytes) + sha256_hex(label_bytes);
  image_bytes = gunzip_if_needed(std::move(image_bytes), images_path);
  IdxArray images = parse_idx(image_bytes, images_path);
  label_bytes = gunzip_if_needed(std::move(label_bytes), labels_path);
  IdxArray labels = parse_idx(label_bytes, labels_path);
  check_idx_pair(images, labels, classes, images_path, labels_path);
  return {to_tensor(images).unsqueeze(1).contiguous(), to_tensor(labels).to(torch::kInt64)};
}

}  // namespace r2q::data
