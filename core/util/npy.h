// NumPy's .npy format (version 1.0), for arrays other tools read back with numpy.load: a float32 array in C
// order, little-endian ('<f4'), of any shape.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace r2q {

// The header of a version 1.0 .npy file holding a little-endian float32 C-order array of `shape`: the magic
// "\x93NUMPY", the version bytes 1 0, the little-endian u16 length of the dictionary, and the dictionary
// padded with spaces and ended with '\n' so that the data starts at a multiple of 64 bytes.
std::string npy_float32_header(const std::vector<std::int64_t>& shape);

// Writes the header and `data` (the product of `shape` values, C order) as little-endian float32. Throws
// std::invalid_argument when the data does not have that many values or a dimension is negative.
void write_npy_float32(std::ostream& out, const std::vector<float>& data,
                       const std::vector<std::int64_t>& shape);

}  // namespace r2q
