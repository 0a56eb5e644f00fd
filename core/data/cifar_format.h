// The CIFAR-10 "binary version", decoded without LibTorch (cifar.cpp makes tensors of it; fuzz/ feeds it
// hostile bytes): files of 3073-byte records, a label byte then 3x32x32 pixels, channel-major.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace r2q::data {

// The records of one batch file, checked by parse_cifar10. Points into its bytes, which must outlive it.
class Cifar10Records {
 public:
  static constexpr size_t kPixels = 3 * 32 * 32;
  static constexpr size_t kRecord = 1 + kPixels;

  explicit Cifar10Records(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t size() const { return bytes_.size() / kRecord; }
  uint8_t label(size_t i) const { return bytes_[i * kRecord]; }
  std::span<const uint8_t> pixels(size_t i) const { return bytes_.subspan(i * kRecord + 1, kPixels); }

 private:
  std::span<const uint8_t> bytes_;
};

// Checks one batch file's bytes: a positive multiple of the record size, every label 0-9. `path` names the
// file in errors (InputError).
Cifar10Records parse_cifar10(std::string_view bytes, const std::filesystem::path& path);

}  // namespace r2q::data
