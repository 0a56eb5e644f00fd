// The .npy writer: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html (version 1.0).
#include "core/util/npy.h"

#include <bit>
#include <cstring>
#include <ostream>
#include <stdexcept>

namespace r2q {

std::string npy_float32_header(const std::vector<std::int64_t>& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) throw std::invalid_argument("npy: negative dimension " + std::to_string(shape[i]));
    dict += (i ? ", " : "") + std::to_string(shape[i]);
  }
  if (shape.size() == 1) dict += ",";  // a Python 1-tuple
  dict += "), }";
  // magic (6) + version (2) + length (2) + dict + padding + '\n' = a multiple of 64.
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 0xffff) throw std::invalid_argument("npy: the shape has too many dimensions");
  std::string header = "\x93NUMPY";
  header += '\x01';
  header += '\x00';
  header += static_cast<char>(dict.size() & 0xff);
  header += static_cast<char>(dict.size() >> 8);
  return header + dict;
}

void write_npy_float32(std::ostream& out, const std::vector<float>& data,
                       const std::vector<std::int64_t>& shape) {
  const std::string header = npy_float32_header(shape);
  std::size_t count = 1;
  for (const std::int64_t d : shape) count *= static_cast<std::size_t>(d);
  if (count != data.size())
    throw std::invalid_argument("npy: " + std::to_string(data.size()) + " values for a shape of " +
                                std::to_string(count));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  if constexpr (std::endian::native == std::endian::little) {
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * 4));
  } else {
    for (const float v : data) {
      std::uint32_t bits = 0;
      std::memcpy(&bits, &v, 4);
      const char bytes[4] = {static_cast<char>(bits), static_cast<char>(bits >> 8),
                             static_cast<char>(bits >> 16), static_cast<char>(bits >> 24)};
      out.write(bytes, 4);
    }
  }
}

}  // namespace r2q
