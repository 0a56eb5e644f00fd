// Shapes, weight packing and activation packing of the shift-add convolution (portable code).
#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>

#include "backends/cpu/shift_add_conv.h"
#include "backends/cpu/shift_add_kernels.h"
#include "core/util/error.h"

namespace r2q::backends::cpu {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the bit-plane layout assumes that byte b of a loaded word holds its bits 8b..8b+7");

// Messages are built only on failure: validate() runs on every call.
void require(bool ok, const char* field, int value, const char* what, const char* other = nullptr,
             int other_value = 0) {
  if (ok) return;
  std::string msg = std::string("conv shape: ") + field + " = " + std::to_string(value) + " " + what;
  if (other != nullptr) msg += std::string(" ") + other + " = " + std::to_string(other_value);
  throw InputError(msg);
}

}  // namespace

void ConvShape::validate() const {
  require(in_channels > 0, "in_channels", in_channels, "must be positive");
  require(out_channels > 0, "out_channels", out_channels, "must be positive");
  require(in_h > 0, "in_h", in_h, "must be positive");
  require(in_w > 0, "in_w", in_w, "must be positive");
  require(kernel_h > 0, "kernel_h", kernel_h, "must be positive");
  require(kernel_w > 0, "kernel_w", kernel_w, "must be positive");
  require(stride_h > 0, "stride_h", stride_h, "must be positive");
  require(stride_w > 0, "stride_w", stride_w, "must be positive");
  require(pad_h >= 0, "pad_h", pad_h, "must not be negative");
  require(pad_w >= 0, "pad_w", pad_w, "must not be negative");
  require(groups > 0, "groups", groups, "must be positive");
  require(in_channels % groups == 0, "groups", groups, "must divide", "in_channels", in_channels);
  require(out_channels % groups == 0, "groups", groups, "must divide", "out_channels", out_channels);
  require(in_h + 2 * pad_h >= kernel_h, "kernel_h", kernel_h, "exceeds", "in_h + 2 pad_h", in_h + 2 * pad_h);
  require(in_w + 2 * pad_w >= kernel_w, "kernel_w", kernel_w, "exceeds", "in_w + 2 pad_w", in_w + 2 * pad_w);
}

PatchLayout PatchLayout::of(const ConvShape& shape) {
  PatchLayout p;
  p.pixel_bits = (shape.group_in() + 7) / 8 * 8;
  p.row_words = (shape.kernel_w * p.pixel_bits + 63) / 64;
  p.words = shape.kernel_h * p.row_words;
  return p;
}

PackedConvWeights::PackedConvWeights(const ConvShape& shape, std::span<const std::int8_t> codes,
                                     int weight_bits, Packing packing)
    : shape_(shape), layout_(PatchLayout::of(shape)), weight_bits_(weight_bits) {
  shape.validate();
  if (weight_bits < 1 || weight_bits > 4)
    throw InputError("shift-add weights: weight_bits = " + std::to_string(weight_bits) + " is not in 1..4");
  const int cg = shape.group_in(), og = shape.group_out(), kh = shape.kernel_h, kw = shape.kernel_w;
  const std::size_t expected = static_cast<std::size_t>(shape.out_channels) * cg * kh * kw;
  if (codes.size() != expected)
    throw InputError("shift-add weights: " + std::to_string(codes.size()) + " codes for a [" +
                     std::to_string(shape.out_channels) + ", " + std::to_string(cg) + ", " +
                     std::to_string(kh) + ", " + std::to_string(kw) + "] (OIHW) weight, which needs " +
                     std::to_string(expected));
  const int qmax = (1 << weight_bits) - 1;
  for (std::size_t index = 0; index < expected; ++index) {
    const int m = codes[index];
    if (m % 2 != 0 && m >= -qmax && m <= qmax) continue;
    const std::size_t kx = index % kw, ky = index / kw % kh, c = index / kw / kh % cg,
                      oc = index / kw / kh / cg;
    throw InputError("shift-add weights: code " + std::to_string(m) + " at index " + std::to_string(index) +
                     " ([out, in, kh, kw] = [" + std::to_string(oc) + ", " + std::to_string(c) + ", " +
                     std::to_string(ky) + ", " + std::to_string(kx) + "]) is not odd in [-" +
                     std::to_string(qmax) + ", " + std::to_string(qmax) + "] for " +
                     std::to_string(weight_bits) + "-bit weights");
  }
  blocks_per_group_ = (og + kBlock - 1) / kBlock;
  const bool dot = packing != Packing::BitPlanes && cg % 4 == 0;
  if (dot) pack_dot_codes(codes);
  if (dot && packing == Packing::DotProduct) return;

  bits_.assign(static_cast<std::size_t>(shape.groups) * blocks_per_group_ * block_words(), 0);
  const int words = layout_.words;
  std::size_t index = 0;  // runs through codes in OIHW order
  for (int oc = 0; oc < shape.out_channels; ++oc) {
    const int g = oc / og, o = oc % og;
    std::uint64_t* block =
        bits_.data() + (static_cast<std::size_t>(g) * blocks_per_group_ + o / kBlock) * block_words();
    const int lane = o % kBlock;
    for (int c = 0; c < cg; ++c)
      for (int ky = 0; ky < kh; ++ky)
        for (int kx = 0; kx < kw; ++kx, ++index) {
          const int u = (codes[index] + qmax) / 2;
          // The same position the activation packing gives channel c of the pixel kx columns into the row.
          const int pos = kx * layout_.pixel_bits + c;
          const int t = ky * layout_.row_words + pos / 64;
          for (int i = 0; i < weight_bits; ++i)
            if ((u >> i) & 1)
              block[(static_cast<std::size_t>(i) * words + t) * kBlock + lane] |= std::uint64_t{1}
                                                                                  << (pos % 64);
        }
  }
}

// Codes checked above. Chunk t = (ky * kw + kx) * cg / 4 + c / 4 holds channels c..c+3 of tap (ky, kx),
// byte 4 lane + c % 4 of its vector. The padding channels of a last block keep zero bits (code -(2^k - 1)):
// their lanes' sums are never stored.
void PackedConvWeights::pack_dot_codes(std::span<const std::int8_t> codes) {
  const int cg = shape_.group_in(), og = shape_.group_out(), kh = shape_.kernel_h, kw = shape_.kernel_w;
  const int k = weight_bits_, qmax = (1 << k) - 1, chunks = dot_chunks();
  dot_bits_.assign(static_cast<std::size_t>(shape_.groups) * dot_blocks_per_group() * chunks * k, 0);
  std::size_t index = 0;
  for (int oc = 0; oc < shape_.out_channels; ++oc) {
    const int g = oc / og, o = oc % og, lane = o % kDotBlock;
    const std::size_t block = static_cast<std::size_t>(g) * dot_blocks_per_group() + o / kDotBlock;
    for (int c = 0; c < cg; ++c)
      for (int ky = 0; ky < kh; ++ky)
        for (int kx = 0; kx < kw; ++kx, ++index) {
          const std::size_t chunk = static_cast<std::size_t>(ky * kw + kx) * (cg / 4) + c / 4;
          const int u = (codes[index] + qmax) / 2;
          for (int i = 0; i < k; ++i)
            if ((u >> i) & 1)
              dot_bits_[(block * chunks + chunk) * k + i] |= std::uint64_t{1} << (4 * lane + c % 4);
        }
  }
}

// Measured (Zen 5; shift_add_bench planes_* / dot_*, 3x3 layers of 16..256 channels, batch 1,
// docs/PERFORMANCE.md): the dot products cost the same whatever the bit widths (plus expanding the layer's
// codes at each call), the bit-planes k l times the one-bit work less their K padding. With VNNI the dot
// products win from 8 bit products (k l) on, at 2..6 up to 32 channels per group; with AVX2 (2 uops per 32
// MACs) also at 4..6 up to 128. The bit-planes win at W1A1, and from 64 channels at W1A2.
bool dot_product_suits(const ConvShape& shape, int weight_bits, int act_bits, Isa isa) {
  const int cg = shape.group_in(), bits = weight_bits * act_bits;
  if (cg % 4 != 0 || bits < 2) return false;
  if (bits >= 8) return true;
  return cg <= (isa == Isa::Avx2 && bits >= 4 ? 128 : 32);
}

void Epilogue::validate(int out_channels) const {
  const auto n = static_cast<std::size_t>(out_channels);
  if (multiplier.size() != n)
    throw InputError("epilogue: multiplier has " + std::to_string(multiplier.size()) + " values for " +
                     std::to_string(out_channels) + " output channels");
  if (bias.size() != n)
    throw InputError("epilogue: bias has " + std::to_string(bias.size()) + " values for " +
                     std::to_string(out_channels) + " output channels");
  if (out_bits < 0 || out_bits > 8)
    throw InputError("epilogue: out_bits = " + std::to_string(out_bits) + " is not in 0..8");
  if (out_bits > 0 && !(out_scale > 0.0f))
    throw InputError("epilogue: out_scale = " + std::to_string(out_scale) + " must be positive");
}

namespace detail {

ActivationGeometry ActivationGeometry::of(const ConvShape& shape, const PatchLayout& layout, int act_bits,
                                          bool nibbles) {
  ActivationGeometry g;
  g.padded_h = shape.in_h + 2 * shape.pad_h;
  g.padded_w = shape.in_w + 2 * shape.pad_w;
  g.planes_per_group = nibbles ? 2 * act_bits : act_bits;
  // 8 bytes of slack: a kernel reads whole words from a patch row's start, up to 7 bytes past its end.
  const std::ptrdiff_t row_bytes = static_cast<std::ptrdiff_t>(g.padded_w) * layout.pixel_bits / 8 + 8;
  g.row_stride = (row_bytes + 7) / 8 * 8;
  g.plane_stride = g.row_stride * g.padded_h;
  g.group_stride = g.plane_stride * g.planes_per_group;
  return g;
}

namespace {

constexpr std::uint64_t kLowBits = 0x0101010101010101ull;

// Bit l of each of the 8 bytes of v, gathered into one byte (bit j from byte j). The multiply moves bit 8j to
// bit 56 + j, and the partial products never overlap, so no carry disturbs the top byte.
inline std::uint8_t gather_bit(std::uint64_t v, int l) {
  return static_cast<std::uint8_t>((((v >> l) & kLowBits) * 0x0102040810204080ull) >> 56);
}

// Sum of the 8 bytes of v (at most 2040, so 16-bit lanes do not overflow).
inline int byte_sum(std::uint64_t v) {
  const std::uint64_t pairs = (v & 0x00FF00FF00FF00FFull) + ((v >> 8) & 0x00FF00FF00FF00FFull);
  return static_cast<int>((pairs * 0x0001000100010001ull) >> 48);
}

}  // namespace

std::uint8_t pack_row_portable(const std::uint8_t* codes, int pixels, int channels, int act_bits,
                               std::uint8_t* out, std::ptrdiff_t plane_stride, std::int32_t* pixel_sums) {
  std::uint64_t seen = 0;
  const int chunks = channels / 8;
  for (int x = 0; x < pixels; ++x) {
    int sum = 0;
    for (int q = 0; q < chunks; ++q) {
      std::uint64_t v;
      std::memcpy(&v, codes + (static_cast<std::ptrdiff_t>(x) * chunks + q) * 8, 8);
      seen |= v;
      sum += byte_sum(v);
      for (int l = 0; l < act_bits; ++l) out[l * plane_stride + x * chunks + q] = gather_bit(v, l);
    }
    pixel_sums[x] = sum;
  }
  for (int shift = 32; shift >= 8; shift /= 2) seen |= seen >> shift;
  return static_cast<std::uint8_t>(seen);
}

namespace {

// Any groups, any channel count: pixel by pixel, group by group, 8 channels at a time. Returns the OR of
// every 8-code chunk.
std::uint64_t pack_pixels(const ConvShape& shape, const PatchLayout& layout,
                          const ActivationGeometry& geometry, const std::uint8_t* image_nhwc, int act_bits,
                          std::uint8_t* bits, std::int32_t* pixel_sums) {
  const int c_all = shape.in_channels, cg = shape.group_in(), bytes_per_pixel = layout.pixel_bits / 8;
  std::uint64_t seen = 0;
  for (int y = 0; y < shape.in_h; ++y)
    for (int x = 0; x < shape.in_w; ++x) {
      const std::uint8_t* pixel = image_nhwc + (static_cast<std::ptrdiff_t>(y) * shape.in_w + x) * c_all;
      const std::ptrdiff_t row_offset = static_cast<std::ptrdiff_t>(y + shape.pad_h) * geometry.row_stride;
      const std::ptrdiff_t pixel_offset = static_cast<std::ptrdiff_t>(x + shape.pad_w) * bytes_per_pixel;
      for (int g = 0; g < shape.groups; ++g) {
        const std::uint8_t* codes = pixel + g * cg;
        std::uint8_t* out = bits + g * geometry.group_stride + row_offset + pixel_offset;
        int sum = 0;
        for (int q = 0; q < bytes_per_pixel; ++q) {
          std::uint64_t v = 0;
          if (cg - 8 * q >= 8)
            std::memcpy(&v, codes + 8 * q, 8);  // a constant size: one load, not a call
          else
            std::memcpy(&v, codes + 8 * q, static_cast<std::size_t>(cg - 8 * q));
          seen |= v;
          sum += byte_sum(v);
          for (int l = 0; l < act_bits; ++l) out[l * geometry.plane_stride + q] = gather_bit(v, l);
        }
        pixel_sums[(static_cast<std::ptrdiff_t>(g) * geometry.padded_h + y + shape.pad_h) *
                       geometry.padded_w +
                   x + shape.pad_w] = sum;
      }
    }
  return seen;
}

}  // namespace

void pack_activations(const ConvShape& shape, const PatchLayout& layout, const ActivationGeometry& geometry,
                      const std::uint8_t* image_nhwc, int act_bits, std::size_t image_index_base,
                      PackRowFn pack_row, std::uint8_t* bits, std::int32_t* pixel_sums) {
  const int c_all = shape.in_channels;
  std::uint64_t seen = 0;  // OR of every code (in some byte), for the range check
  if (shape.groups == 1 && c_all % 8 == 0) {
    // One group, whole bytes: each bit-plane row is the input row's bytes, bit by bit.
    for (int y = 0; y < shape.in_h; ++y) {
      const std::ptrdiff_t padded_y = y + shape.pad_h;
      seen |= pack_row(image_nhwc + static_cast<std::ptrdiff_t>(y) * shape.in_w * c_all, shape.in_w, c_all,
                       act_bits, bits + padded_y * geometry.row_stride + shape.pad_w * c_all / 8,
                       geometry.plane_stride, pixel_sums + padded_y * geometry.padded_w + shape.pad_w);
    }
  } else {
    seen = pack_pixels(shape, layout, geometry, image_nhwc, act_bits, bits, pixel_sums);
  }
  for (int shift = 32; shift >= 8; shift /= 2) seen |= seen >> shift;  // every byte's bits in the lowest
  if ((seen & 0xFFu) >> act_bits) throw_bad_code(shape, image_nhwc, act_bits, image_index_base);
}

void throw_bad_code(const ConvShape& shape, const std::uint8_t* image_nhwc, int act_bits,
                    std::size_t image_index_base) {
  const std::size_t n = static_cast<std::size_t>(shape.in_h) * shape.in_w * shape.in_channels;
  for (std::size_t i = 0; i < n; ++i)
    if (image_nhwc[i] >> act_bits)
      throw InputError("shift-add conv: activation code " + std::to_string(image_nhwc[i]) + " at index " +
                       std::to_string(image_index_base + i) + " (NHWC) is not in [0, " +
                       std::to_string((1 << act_bits) - 1) + "] for " + std::to_string(act_bits) +
                       "-bit activations");
  throw std::logic_error("throw_bad_code: every code of the image is in range");
}

}  // namespace detail
}  // namespace r2q::backends::cpu
