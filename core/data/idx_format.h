// The IDX format of MNIST and Fashion-MNIST, decoded without LibTorch (idx.cpp makes tensors of it; fuzz/
// feeds it hostile bytes): big-endian header, then unsigned bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace r2q::data {

// One decoded IDX file. `data` points into the bytes given to parse_idx, which must outlive it.
struct IdxArray {
  std::vector<int64_t> shape;     // 1-4 dimensions, each < 2^32
  std::span<const uint8_t> data;  // the elements, row-major: product(shape) bytes
};

// Checks IDX bytes holding unsigned bytes (type 0x08) of 1-4 dimensions. `path` names the file in errors
// (InputError: wrong magic, unsupported type, dimensions whose product overflows, truncated, trailing bytes).
IdxArray parse_idx(std::string_view bytes, const std::filesystem::path& path);

// The checks of an images file (N, H, W) and its labels file (N): the ranks, that the counts agree, and that
// every label is below `classes`. Throws InputError naming the file at fault.
void check_idx_pair(const IdxArray& images, const IdxArray& labels, int classes,
                    const std::filesystem::path& images_path, const std::filesystem::path& labels_path);

}  // namespace r2q::data
