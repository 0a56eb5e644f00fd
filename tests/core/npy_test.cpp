// The .npy writer: the header NumPy's format 1.0 specifies (magic, version, length, a dictionary padded to a
// multiple of 64 bytes and ended by a newline) and the little-endian float32 data after it.
#include "core/util/npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <stdexcept>

namespace r2q {
namespace {

std::string dict_of(const std::string& header) {
  return header.substr(10);
}

TEST(Npy, HeaderIsPaddedToSixtyFourBytesAndNamesShapeAndType) {
  for (const auto& [shape, text] :
       std::vector<std::pair<std::vector<std::int64_t>, std::string>>{{{200, 10}, "(200, 10)"},
                                                                      {{5}, "(5,)"},
                                                                      {{}, "()"},
                                                                      {{2, 3, 4}, "(2, 3, 4)"},
                                                                      {{0, 10}, "(0, 10)"}}) {
    const std::string h = npy_float32_header(shape);
    EXPECT_EQ(h.size() % 64, 0u) << text;
    EXPECT_EQ(h.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8)) << text;
    const std::size_t length = static_cast<unsigned char>(h[8]) | (static_cast<unsigned char>(h[9]) << 8);
    EXPECT_EQ(length + 10, h.size()) << text;
    const std::string dict = dict_of(h);
    EXPECT_EQ(dict.back(), '\n');
    EXPECT_EQ(dict.find("{'descr': '<f4', 'fortran_order': False, 'shape': " + text + ", }"), 0u) << dict;
    EXPECT_EQ(dict.find_first_not_of(' ', dict.find('}') + 1), dict.size() - 1)
        << "only spaces pad: " << dict;
  }
  EXPECT_THROW(npy_float32_header({-1}), std::invalid_argument);
}

TEST(Npy, DataFollowsTheHeaderAsLittleEndianFloat32InCOrder) {
  const std::vector<float> values = {1.0f, -2.5f, 0.1f, 3.4028235e38f, 1e-45f, -0.0f};
  std::ostringstream out;
  write_npy_float32(out, values, {2, 3});
  const std::string bytes = out.str();
  const std::size_t start = npy_float32_header({2, 3}).size();
  ASSERT_EQ(bytes.size(), start + 4 * values.size());
  EXPECT_EQ(bytes.substr(start, 4), std::string("\x00\x00\x80\x3f", 4));  // 1.0f
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data() + start + 4 * i);
    const std::uint32_t bits = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
    std::uint32_t expected = 0;
    std::memcpy(&expected, &values[i], 4);
    EXPECT_EQ(bits, expected) << i;
  }
  std::ostringstream wrong;
  EXPECT_THROW(write_npy_float32(wrong, values, {4, 2}), std::invalid_argument);
}

}  // namespace
}  // namespace r2q
