// IDX decoding.
#include "core/data/idx.h"

#include <torch/torch.h>

#include <cstdio>
#include <cstring>

#include "core/data/files.h"
#include "core/util/error.h"
#include "core/util/sha256.h"

namespace r2q::data {

torch::Tensor decode_idx(const std::string& bytes, const std::filesystem::path& path) {
  const std::string name = path.string();
  if (bytes.size() < 4)
    throw InputError(name + ": truncated IDX file (" + std::to_string(bytes.size()) + " bytes)");
  auto u8 = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (u8(0) != 0 || u8(1) != 0)
    throw InputError(name + ": not an IDX file (wrong magic: first two bytes must be zero)");
  if (u8(2) != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", u8(2));
    throw InputError(name + ": unsupported IDX element type " + type + " (only 0x08, unsigned bytes)");
  }
  int dims = u8(3);
  if (dims < 1 || dims > 4)
    throw InputError(name + ": IDX header declares " + std::to_string(dims) + " dimensions (1-4 supported)");
  size_t header = 4 + 4 * static_cast<size_t>(dims);
  if (bytes.size() < header) throw InputError(name + ": truncated IDX header");
  std::vector<int64_t> shape;
  uint64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    size_t o = 4 + 4 * static_cast<size_t>(d);
    uint32_t n =
        (uint32_t(u8(o)) << 24) | (uint32_t(u8(o + 1)) << 16) | (uint32_t(u8(o + 2)) << 8) | u8(o + 3);
    shape.push_back(n);
    count *= n;
  }
  uint64_t have = bytes.size() - header;
  if (have < count)
    throw InputError(name + ": truncated: the header declares " + std::to_string(count) +
                     " bytes of data, the file has " + std::to_string(have));
  if (have > count)
    throw InputError(name + ": " + std::to_string(have - count) +
                     " bytes after the data the header declares");
  torch::Tensor t = torch::empty(shape, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), bytes.data() + header, count);
  return t;
}

IdxPair read_idx_pair(const std::filesystem::path& images_path, const std::filesystem::path& labels_path,
                      int classes, std::string* fingerprint_material) {
  std::string image_bytes = read_file(images_path);
  std::string label_bytes = read_file(labels_path);
  if (fingerprint_material) *fingerprint_material += sha256_hex(image_bytes) + sha256_hex(label_bytes);
  torch::Tensor images = decode_idx(gunzip_if_needed(std::move(image_bytes), images_path), images_path);
  torch::Tensor labels = decode_idx(gunzip_if_needed(std::move(label_bytes), labels_path), labels_path);
  if (images.dim() != 3)
    throw InputError(images_path.string() + ": expected 3 dimensions (N, H, W), got " +
                     std::to_string(images.dim()));
  if (labels.dim() != 1)
    throw InputError(labels_path.string() + ": expected 1 dimension (N), got " +
                     std::to_string(labels.dim()));
  if (images.size(0) != labels.size(0))
    throw InputError(labels_path.string() + ": " + std::to_string(labels.size(0)) + " labels for " +
                     std::to_string(images.size(0)) + " images in " + images_path.string());
  if (labels.numel() > 0) {
    int max_label = labels.max().item<int>();
    if (max_label >= classes) {
      int64_t at = labels.argmax().item<int64_t>();
      throw InputError(labels_path.string() + ": label " + std::to_string(max_label) + " at index " +
                       std::to_string(at) + " is out of range (expected 0-" + std::to_string(classes - 1) +
                       ")");
    }
  }
  return {images.unsqueeze(1).contiguous(), labels.to(torch::kInt64)};
}

}  // namespace r2q::data
