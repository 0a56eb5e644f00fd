// Internal interface between the shift-add driver (packing, dispatch) and the per-ISA kernels: plain data and
// function pointers. The ISA translation units, compiled with their own -m flags, use no inline code from
// here (an inline function instantiated under -mavx512f could be the copy the linker keeps for everyone);
// what they share is in shift_add_kernel_common.h, in an anonymous namespace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>

#include "backends/cpu/shift_add_conv.h"

namespace r2q::backends::cpu::detail {

// One output row of one group: out[p * out_stride + o] = sum_j m_j a_j for pixel p, output channel o.
struct ConvRowJob {
  // Activation bits of plane 0 at the patch origin (top-left of the window, padded coordinates) of pixel 0.
  const std::uint8_t* origin = nullptr;
  std::ptrdiff_t plane_stride = 0;   // bytes from activation plane l to plane l + 1
  std::ptrdiff_t nibble_offset = 0;  // AVX2 only: bytes from the low-nibble planes to the high-nibble ones
  std::ptrdiff_t pixel_step = 0;     // bytes between the patch origins of neighbouring output pixels
  const std::int32_t* word_offsets = nullptr;  // [words] byte offset of patch word t from the patch origin
  int words = 0;
  int pixels = 0;
  int act_bits = 0;
  const std::int32_t* code_sums = nullptr;  // [pixels] sum of the activation codes of each patch
  const std::uint64_t* weights = nullptr;   // the group's first block (PackedConvWeights::block(g, 0))
  std::size_t block_words = 0;              // u64 words from one block to the next
  int blocks = 0;
  int weight_bits = 0;
  int out_channels = 0;  // valid channels of the group; the last block may be partly padding
  std::int32_t* out = nullptr;
  std::ptrdiff_t out_stride = 0;  // elements from one pixel's outputs to the next
};

// One output row of one group on the dot-product kernel: out[p * out_stride + o] = sum_j m_j a_j, reading
// the image's NHWC codes (zero border) in place.
struct DotRowJob {
  const std::uint8_t* origin = nullptr;  // the patch origin of pixel 0: top-left tap, the group's channel 0
  std::ptrdiff_t pixel_step = 0;         // bytes between the patch origins of neighbouring output pixels
  const std::int32_t* chunk_offsets = nullptr;  // [chunks] byte offset of patch chunk t from the origin
  int chunks = 0;
  // AVX2: chunks whose 16-bit pair sums add up without overflow, 32767 / (2 (2^l - 1)(2^k - 1)), >= 1
  int flush_chunks = 1;
  int pixels = 0;
  const std::int8_t* weights = nullptr;  // the group's first block, expanded (Workspace::dot_codes)
  std::size_t block_bytes = 0;           // from one block to the next
  int blocks = 0;
  int out_channels = 0;  // valid channels of the group; the last block may be partly padding
  std::int32_t* out = nullptr;
  std::ptrdiff_t out_stride = 0;
};

// One output row of accumulators through the epilogue, as one flat array: multiplier and bias are the
// per-channel values repeated for every pixel of the row, so the loop is long and vectorises well even with
// few channels.
struct EpilogueRowJob {
  const std::int32_t* acc = nullptr;
  int count = 0;                      // pixels x channels
  const float* multiplier = nullptr;  // [count]
  const float* bias = nullptr;        // [count]
  bool relu = false;
  float upper = 0;  // codes only: the activation's upper clip (6 for ReLU6), +infinity for none
  int out_bits = 0;
  float out_scale = 1.0f;
  float* out_float = nullptr;         // when out_bits == 0
  std::uint8_t* out_codes = nullptr;  // when out_bits > 0
};

// A residual add fused with its readers' input quantizer: sum[i] = a[i] + b[i] (float), then ReLU where
// `relu` and the clip at `upper`; codes[i] = the export format's unsigned code of sum[i]:
// int(clamp(sum / scale, lo, hi) + 0.5f).
struct AddCodesJob {
  const float* a = nullptr;
  const float* b = nullptr;
  std::size_t count = 0;
  bool relu = false;
  float upper = 0;  // +infinity for none
  float* sum = nullptr;
  float scale = 1.0f, lo = 0.0f, hi = 0.0f;
  std::uint8_t* codes = nullptr;
};

// Packs one input row whose channels are one group and a multiple of 8 (the common case: every bit-plane row
// is then the row's bytes, bit by bit): `pixels` pixels of `channels` codes; bit l of code j goes to bit j %
// 8 of byte j / 8 of out + l * plane_stride. pixel_sums[x] = the sum of pixel x's codes. Returns the OR of
// all codes, for the range check.
using PackRowFn = std::uint8_t (*)(const std::uint8_t* codes, int pixels, int channels, int act_bits,
                                   std::uint8_t* out, std::ptrdiff_t plane_stride, std::int32_t* pixel_sums);

struct KernelTable {
  Isa isa = Isa::Scalar;
  PackRowFn pack_row = nullptr;
  // The kernel wants each activation plane split into its low and high nibbles (per byte, moved to bits 0..3)
  // as planes [0, act_bits) and [act_bits, 2 act_bits): AVX2 counts bits with a 16-entry byte shuffle.
  bool nibble_planes = false;
  void (*conv_row)(const ConvRowJob&) = nullptr;
  void (*epilogue_row)(const EpilogueRowJob&) = nullptr;
  void (*add_codes)(const AddCodesJob&) = nullptr;
  void (*quantize_codes)(const AddCodesJob&) = nullptr;  // codes of job.a alone
  // The dot-product kernel, where this ISA has one and the CPU runs it (nullptr otherwise), and the expansion
  // of its stored k-bit codes (PackedConvWeights::dot_bits) into `vectors` x 64 signed bytes.
  void (*dot_row)(const DotRowJob&) = nullptr;
  void (*dot_expand)(const std::uint64_t* bits, std::size_t vectors, int weight_bits,
                     std::int8_t* out) = nullptr;
};

// The kernels of an ISA (resolved, available here); AVX-512's with the dot-product kernel where the CPU has
// VNNI.
const KernelTable& kernel_table(Isa isa);

std::uint8_t pack_row_portable(const std::uint8_t* codes, int pixels, int channels, int act_bits,
                               std::uint8_t* out, std::ptrdiff_t plane_stride, std::int32_t* pixel_sums);

const KernelTable& scalar_kernels();
#ifdef R2Q_X86_KERNELS
std::uint8_t pack_row_avx2(const std::uint8_t* codes, int pixels, int channels, int act_bits,
                           std::uint8_t* out, std::ptrdiff_t plane_stride, std::int32_t* pixel_sums);
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();
#endif
#ifdef R2Q_X86_KERNELS
// AVX-512 VNNI (vpdpbusd); only where cpu_info() reports AVX-512 VNNI.
void dot_row_avx512_vnni(const DotRowJob& job);
void dot_expand_avx512(const std::uint64_t* bits, std::size_t vectors, int weight_bits, std::int8_t* out);
// AVX2 (vpmaddubsw, vpmaddwd); every AVX2 CPU.
void dot_row_avx2(const DotRowJob& job);
void dot_expand_avx2(const std::uint64_t* bits, std::size_t vectors, int weight_bits, std::int8_t* out);
#endif
// The same compiled against SIMDe's emulation (tests only, where SIMDe is installed).
void dot_row_avx512_vnni_emulated(const DotRowJob& job);
void dot_expand_avx512_emulated(const std::uint64_t* bits, std::size_t vectors, int weight_bits,
                                std::int8_t* out);
// The AVX-512 kernels compiled against SIMDe's portable emulation (tests only, where SIMDe is installed), so
// that their logic is checked on machines without AVX-512.
const KernelTable& avx512_emulated_kernels();

// Where one image's packed activations live in Workspace::activation_bits (as bytes).
struct ActivationGeometry {
  int padded_h = 0, padded_w = 0;
  int planes_per_group = 0;       // act_bits, or 2 act_bits with nibble planes
  std::ptrdiff_t row_stride = 0;  // bytes, a multiple of 8, with >= 8 bytes of slack after the last pixel
  std::ptrdiff_t plane_stride = 0;
  std::ptrdiff_t group_stride = 0;
  static ActivationGeometry of(const ConvShape& shape, const PatchLayout& layout, int act_bits, bool nibbles);
  std::size_t bytes(int groups) const { return static_cast<std::size_t>(group_stride) * groups; }
};

// Packs one image (NHWC codes) into bit-planes: for group g, plane l, padded row y, the bits of pixel x start
// at byte x * layout.pixel_bits / 8, channel c at bit c. Padding stays zero. pixel_sums gets, per group and
// padded pixel, the sum of the pixel's codes. Both must be zeroed first. Throws r2q::InputError for a code >=
// 2^act_bits, naming its index (image_index_base + offset in the image) and value. Rows of one group with a
// multiple of 8 channels go through pack_row.
void pack_activations(const ConvShape& shape, const PatchLayout& layout, const ActivationGeometry& geometry,
                      const std::uint8_t* image_nhwc, int act_bits, std::size_t image_index_base,
                      PackRowFn pack_row, std::uint8_t* bits, std::int32_t* pixel_sums);

// Throws r2q::InputError naming the first code of the image (NHWC) >= 2^act_bits, its index counted from
// image_index_base; called once a range check has failed.
[[noreturn]] void throw_bad_code(const ConvShape& shape, const std::uint8_t* image_nhwc, int act_bits,
                                 std::size_t image_index_base);

// One convolution: its shape and packed weights, `batch` NHWC images of act_bits codes, and where it writes:
// int32 accumulators (no epilogue), or through the epilogue floats or codes.
struct ConvCall {
  const ConvShape& shape;
  const PackedConvWeights& weights;
  const std::uint8_t* input_nhwc = nullptr;
  int batch = 0;
  int act_bits = 0;
  const Epilogue* epilogue = nullptr;
  std::variant<std::int32_t*, float*, std::uint8_t*> output;
};

// Runs the convolution with one kernel table. The public shift_add_conv() calls this after resolving the ISA.
// A call that breaks its preconditions (shapes, bit widths, a null output) is a bug in the caller:
// std::invalid_argument.
void run_conv(const KernelTable& kernels, const ConvCall& call, Workspace& workspace);

}  // namespace r2q::backends::cpu::detail
