// Writers of dataset files in their real on-disk formats (IDX, gzip, CIFAR-10 binary), for loader tests.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace r2q::testing {

// IDX bytes for unsigned-byte data of the given shape; `data` is filled with a known pattern when empty.
inline std::string idx_bytes(const std::vector<uint32_t>& shape, std::vector<uint8_t> data = {}) {
  size_t count = 1;
  for (auto d : shape) count *= d;
  if (data.empty()) {
    data.resize(count);
    for (size_t i = 0; i < count; ++i) data[i] = static_cast<uint8_t>((i * 7) % 251);
  }
  std::string out = {0, 0, 0x08, static_cast<char>(shape.size())};
  for (auto d : shape) {
    out += static_cast<char>(d >> 24);
    out += static_cast<char>(d >> 16);
    out += static_cast<char>(d >> 8);
    out += static_cast<char>(d);
  }
  out.append(reinterpret_cast<const char*>(data.data()), data.size());
  return out;
}

inline std::string gzip(const std::string& raw) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, raw.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// CIFAR-10 records: label byte then 3072 pixel bytes.
inline std::string cifar_bytes(const std::vector<uint8_t>& labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    out += static_cast<char>(labels[i]);
    for (int p = 0; p < 3072; ++p) out += static_cast<char>((i + static_cast<size_t>(p)) % 256);
  }
  return out;
}

}  // namespace r2q::testing
