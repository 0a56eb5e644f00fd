// IDX decoding and checks, without LibTorch.
#include "core/data/idx_format.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <string>

#include "core/util/error.h"

namespace r2q::data {

IdxArray parse_idx(std::string_view bytes, const std::filesystem::path& path) {
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
  IdxArray array;
  for (int d = 0; d < dims; ++d) {
    size_t o = 4 + 4 * static_cast<size_t>(d);
    uint32_t n =
        (uint32_t(u8(o)) << 24) | (uint32_t(u8(o + 1)) << 16) | (uint32_t(u8(o + 2)) << 8) | u8(o + 3);
    array.shape.push_back(n);
  }
  // Four 32-bit dimensions can multiply past 64 bits and wrap to a size that matches the data. A zero
  // dimension counts as one here: the strides of a tensor of that shape are the products of the others.
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  uint64_t extent = 1, count = 1;
  for (int64_t n : array.shape) {
    uint64_t factor = std::max<uint64_t>(n, 1);
    if (extent > kMax / factor) {
      std::string listed;
      for (int64_t m : array.shape) listed += (listed.empty() ? "" : " x ") + std::to_string(m);
      throw InputError(name + ": IDX dimensions " + listed +
                       " are too large (their product exceeds 2^63 - 1)");
    }
    extent *= factor;
    count *= static_cast<uint64_t>(n);
  }
  uint64_t have = bytes.size() - header;
  if (have < count)
    throw InputError(name + ": truncated: the header declares " + std::to_string(count) +
                     " bytes of data, the file has " + std::to_string(have));
  if (have > count)
    throw InputError(name + ": " + std::to_string(have - count) +
                     " bytes after the data the header declares");
  array.data = {reinterpret_cast<const uint8_t*>(bytes.data()) + header, static_cast<size_t>(count)};
  return array;
}

void check_idx_pair(const IdxArray& images, const IdxArray& labels, int classes,
                    const std::filesystem::path& images_path, const std::filesystem::path& labels_path) {
  if (images.shape.size() != 3)
    throw InputError(images_path.string() + ": expected 3 dimensions (N, H, W), got " +
                     std::to_string(images.shape.size()));
  if (labels.shape.size() != 1)
    throw InputError(labels_path.string() + ": expected 1 dimension (N), got " +
                     std::to_string(labels.shape.size()));
  if (images.shape[0] != labels.shape[0])
    throw InputError(labels_path.string() + ": " + std::to_string(labels.shape[0]) + " labels for " +
                     std::to_string(images.shape[0]) + " images in " + images_path.string());
  // The largest label, at its first index, names the problem as well as any.
  auto max = std::max_element(labels.data.begin(), labels.data.end());
  if (max != labels.data.end() && *max >= classes)
    throw InputError(labels_path.string() + ": label " + std::to_string(*max) + " at index " +
                     std::to_string(max - labels.data.begin()) + " is out of range (expected 0-" +
                     std::to_string(classes - 1) + ")");
}

}  // namespace r2q::data
