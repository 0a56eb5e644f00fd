// The IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed): big-endian header, then unsigned
// bytes.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <string>

namespace r2q::data {

// Decodes IDX bytes holding unsigned bytes (type 0x08) of 1-4 dimensions (parse_idx in idx_format.h). `path`
// names the file in errors (wrong magic, unsupported type, dimensions too large, truncated, trailing bytes).
torch::Tensor decode_idx(const std::string& bytes, const std::filesystem::path& path);

// Reads an images file (N, H, W) and a labels file (N) into (N, 1, H, W) / (N) tensors; checks that the
// counts agree and that every label is below `classes`.
struct IdxPair {
  torch::Tensor images, labels;
};
IdxPair read_idx_pair(const std::filesystem::path& images, const std::filesystem::path& labels, int classes,
                      std::string* fingerprint_material = nullptr);

}  // namespace r2q::data
