// The reference shift-add dot product (DESIGN §1.3), scalar and dependency-free: for odd weight codes
// m_j = sum_i 2^i b_ij (b in {-1, +1}, k bits) and unsigned activation codes a_j = sum_l 2^l c_lj (l bits),
//   sum_j m_j a_j = sum_i sum_l 2^(i+l) (2 popcount(u_i AND c_l) - popcount(c_l)),  u_i = (b_i + 1) / 2,
// computed over bit-planes packed 64 per word. It is exactly the integer dot product; the CPU and CUDA
// kernels are checked against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace r2q::quant {

// Bit-planes of a vector, packed: plane p holds bit p of every element, 64 elements per word.
struct BitPlanes {
  int bits = 0;
  std::size_t length = 0;
  std::vector<std::vector<std::uint64_t>> planes;  // [bits][ceil(length / 64)]
};

// Planes of u = (m + 2^k - 1) / 2 for odd codes m in [-(2^k - 1), 2^k - 1]. Throws std::invalid_argument for
// a code that is even or out of range.
BitPlanes pack_odd_codes(const std::int32_t* codes, std::size_t n, int bits);
// Planes of unsigned codes in [0, 2^bits - 1].
BitPlanes pack_unsigned_codes(const std::int32_t* codes, std::size_t n, int bits);

// sum_j m_j a_j by AND, popcount, shift and add.
std::int64_t shift_add_dot(const BitPlanes& weights, const BitPlanes& activations);

}  // namespace r2q::quant
