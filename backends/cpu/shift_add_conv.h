// The CPU backend's bit-serial "shift-add" convolution (DESIGN §1.3, §6): exact s32 accumulators of odd k-bit
// weight codes times unsigned l-bit activation codes by AND, popcount, shift and add, with a fused epilogue
// (folded BatchNorm, ReLU, requantisation). Scalar, AVX2 and AVX-512 VPOPCNTDQ kernels, chosen at run time;
// for layers with few channels per group, where the bit-planes waste lanes, a dot-product kernel on the same
// codes (AVX-512 VNNI, AVX2), chosen per layer by measurement (dot_product_suits; see PackedConvWeights).
//
// Plan once, run many: PackedConvWeights packs the weight bit-planes once; shift_add_conv() then packs the
// activations of each image into bit-planes and runs the kernel. Every path gives bit-identical accumulators.
// The kernels compute T = sum_{i,l} 2^(i+l) popcount(u_i AND c_l) per output; the identity's popcount(c_l)
// terms add up to (2^k - 1) S, with S the sum of the patch's activation codes, so sum_j m_j a_j = 2 T -
// (2^k - 1) S and one code sum per output pixel replaces a popcount per plane.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace r2q::backends::cpu {

// std::allocator with 64-byte (cache line, one AVX-512 register) alignment.
template <class T>
struct CacheAlignedAllocator {
  using value_type = T;
  CacheAlignedAllocator() = default;
  template <class U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, std::size_t) { ::operator delete (p, std::align_val_t{64}); }
  template <class U>
  bool operator==(const CacheAlignedAllocator<U>&) const {
    return true;
  }
};
template <class T>
using AlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

// Instruction sets with a kernel. Auto: the R2Q_KERNEL_ISA environment variable (scalar|avx2|avx512) if set,
// else the best this CPU runs.
enum class Isa { Auto, Scalar, Avx2, Avx512 };

std::string_view isa_name(Isa isa);  // "auto", "scalar", "avx2", "avx512"
// Parses a name as isa_name() writes it; throws r2q::InputError listing the known names.
Isa parse_isa(std::string_view name);
// Empty when this build and this CPU can run the kernel, else why not (e.g. "the CPU lacks AVX-512
// VPOPCNTDQ").
std::string isa_unavailable_reason(Isa isa);
// Every ISA that can run here, best last.
std::vector<Isa> available_isas();
// Auto -> the environment override or the best available; an explicit ISA is checked. Throws
// r2q::InputError naming the ISA (and the variable, if it came from R2Q_KERNEL_ISA) when it cannot run here.
Isa resolve_isa(Isa requested);

// The kernel's roofline on this CPU, measured (once per process, about 0.3 s): one-bit products per cycle of
// its inner loop on an ideal row (whole tiles, no padding, operands in L1). A k-bit x l-bit MAC is k l
// one-bit products. 0 where the kernel cannot run here.
double one_bit_products_per_cycle(Isa isa);
// The dot-product kernel's roofline on this ISA, measured the same way (once per process): MACs per cycle of
// its inner loop, whatever the bit widths. 0 where it cannot run here.
double dot_macs_per_cycle(Isa isa);

// A 2-D convolution in PyTorch's terms. A linear layer is a 1x1 convolution on a 1x1 input.
struct ConvShape {
  int in_channels = 0, out_channels = 0;
  int in_h = 0, in_w = 0;
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int groups = 1;

  int out_h() const { return (in_h + 2 * pad_h - kernel_h) / stride_h + 1; }
  int out_w() const { return (in_w + 2 * pad_w - kernel_w) / stride_w + 1; }
  int group_in() const { return in_channels / groups; }
  int group_out() const { return out_channels / groups; }
  // Throws r2q::InputError naming the first bad field.
  void validate() const;
  bool operator==(const ConvShape&) const = default;
};

// How the reduction dimension K of one output pixel (group_in x kernel_h x kernel_w) is laid out in
// bit-planes. The activations are packed once per image as padded image rows of bits (pixel by pixel, channel
// by channel, a pixel taking `pixel_bits` = group_in rounded up to a byte), so the kw pixels a kernel row
// covers are one contiguous, byte-aligned bit string. The kernels read it in place with unaligned 64-bit
// loads: there is no im2col copy. Each kernel row is `row_words` 64-bit words (kernel_w * pixel_bits bits,
// rounded up); the patch is `words` = kernel_h * row_words words. Bits past a row's end are whatever follows
// in memory: the weight bits there are zero, so they never count.
struct PatchLayout {
  int pixel_bits = 0;  // group_in rounded up to a multiple of 8
  int row_words = 0;   // ceil(kernel_w * pixel_bits / 64)
  int words = 0;       // kernel_h * row_words
  static PatchLayout of(const ConvShape& shape);
};

// Weight bit-planes for every ISA. Output channels come in blocks of kBlock (one AVX-512 register of 64-bit
// lanes, two AVX2 registers): for a block, plane i and patch word t, the kBlock channels' words are adjacent,
// so one activation word is broadcast and ANDed with 8 output channels at once. Vectorising over output
// channels rather than over K keeps every lane busy: K is only 144..576 bits in ResNet-20, 3..9 words, which
// would leave most of a 512-bit register empty or need a horizontal sum per output.
//
// Layers with few input channels per group can also be packed for the dot-product kernel (AVX-512 VNNI,
// vpdpbusd: 16 output channels x 4 u8 x s8 products per instruction), which reads the NHWC codes themselves:
// no K padding and no per-plane shift-add, where the bit-planes leave a quarter of each word empty (16
// channels: 48 of 64 bits) and shift-add k l partial counts per output. The kernel wants signed bytes: output
// channels in blocks of kDotBlock, and for a block and patch chunk t (4 consecutive input channels of one
// tap, taps in (ky, kx) order) the 16 channels' 4 codes adjacent, one zmm. They are stored as compactly as
// the bit-planes, k bits per code (each zmm as k 64-bit masks, bit 4 lane + j of mask i = bit i of (m + 2^k -
// 1) / 2), and expanded to bytes into the workspace at each call: a layer's weights stay k-bit in memory. The
// engine asks for them where dot_product_suits() says so.
// Which forms PackedConvWeights holds: the bit-planes (every kernel), the dot-product codes (the dot-product
// kernel, where group_in is a multiple of 4), or both (tests, benchmarks: any kernel can run them).
enum class Packing { BitPlanes, DotProduct, Both };

class PackedConvWeights {
 public:
  static constexpr int kBlock = 8;
  static constexpr int kDotBlock = 16;

  PackedConvWeights() = default;
  // codes: odd integers in [-(2^bits - 1), 2^bits - 1], laid out [out][in / groups][kh][kw] (PyTorch OIHW);
  // weight_bits in 1..4. Throws r2q::InputError naming the first bad index and value.
  // Packing::DotProduct falls back to the bit-planes where group_in is not a multiple of 4; Both packs the
  // dot-product codes only where it is.
  PackedConvWeights(const ConvShape& shape, std::span<const std::int8_t> codes, int weight_bits,
                    Packing packing = Packing::BitPlanes);

  const ConvShape& shape() const { return shape_; }
  int weight_bits() const { return weight_bits_; }
  const PatchLayout& layout() const { return layout_; }
  int blocks_per_group() const { return blocks_per_group_; }
  // Bits of group g, block b: [plane][word][kBlock], 64-byte aligned.
  const std::uint64_t* block(int g, int b) const {
    return bits_.data() + (static_cast<std::size_t>(g) * blocks_per_group_ + b) * block_words();
  }
  std::size_t block_words() const { return static_cast<std::size_t>(weight_bits_) * layout_.words * kBlock; }

  bool has_bit_planes() const { return !bits_.empty(); }
  // The dot-product kernel's codes, empty unless the constructor was asked for them.
  bool has_dot_codes() const { return !dot_bits_.empty(); }
  // 4-byte chunks of a patch: kernel_h * kernel_w * group_in / 4.
  int dot_chunks() const { return shape_.kernel_h * shape_.kernel_w * shape_.group_in() / 4; }
  int dot_blocks_per_group() const { return (shape_.group_out() + kDotBlock - 1) / kDotBlock; }
  // Expanded bytes of one block: [chunk][kDotBlock][4]; blocks of group g start at g * blocks_per_group.
  std::size_t dot_block_bytes() const { return static_cast<std::size_t>(dot_chunks()) * kDotBlock * 4; }
  // The stored codes: one zmm of bytes (a block's chunk) per weight_bits() masks, in expansion order.
  const std::uint64_t* dot_bits() const { return dot_bits_.data(); }
  std::size_t dot_vectors() const { return dot_bits_.size() / static_cast<std::size_t>(weight_bits_); }
  // Bytes of packed weights this object holds (bit-planes and dot-product codes).
  std::size_t bytes() const { return (bits_.size() + dot_bits_.size()) * sizeof(std::uint64_t); }

 private:
  void pack_dot_codes(std::span<const std::int8_t> codes);

  ConvShape shape_;
  PatchLayout layout_;
  int weight_bits_ = 0;
  int blocks_per_group_ = 0;
  AlignedVector<std::uint64_t> bits_;
  AlignedVector<std::uint64_t> dot_bits_;
};

// A residual add fused with its readers' input quantizer, on the kernels' ISA: sum[i] = a[i] + b[i] (float32,
// as the reference), ReLU where `relu`, clipped at `upper` (6 for ReLU6); codes[i] = int(clamp(sum[i] /
// scale, min_code, max_code) + 0.5f), the export format's unsigned code. min_code / max_code in 0..255.
void add_and_quantize(Isa isa, const float* a, const float* b, std::size_t count, bool relu, float upper,
                      float* sum, float scale, int min_code, int max_code, std::uint8_t* codes);

// The export format's unsigned codes of count floats on the kernels' ISA: codes[i] = int(clamp(x[i] / scale,
// min_code, max_code) + 0.5f). min_code / max_code in 0..255.
void quantize_unsigned(Isa isa, const float* x, std::size_t count, float scale, int min_code, int max_code,
                       std::uint8_t* codes);

// Whether the dot-product kernel beats the bit-planes for this layer: the rule measured in
// docs/PERFORMANCE.md ("Dot products for small channel counts").
bool dot_product_suits(const ConvShape& shape, int weight_bits, int act_bits, Isa isa);
// Whether this ISA (resolved) has a dot-product kernel on this CPU: AVX-512 with VNNI, AVX2 (vpmaddubsw).
bool dot_product_runs(Isa isa);
// Its name in layer paths: "avx512-vnni", "avx2"; empty where there is none.
std::string_view dot_product_name(Isa isa);
// Whether shift_add_conv() runs these weights on the dot-product kernel with this ISA: it runs here and the
// dot-product codes are packed.
bool uses_dot_product(Isa isa, const PackedConvWeights& weights);

// Per output channel y = acc * multiplier + bias (folded BatchNorm and the weight and activation scales),
// optionally ReLU (and a clip at `upper`, ReLU6's 6); then either float out, or the next layer's unsigned
// codes by the export format's rule (docs/EXPORT_FORMAT.md, deploy::quantize_activation):
//   q = int(clamp(y / out_scale, 0, 2^out_bits - 1) + 0.5f)
// Computed in float, multiply then add (no fused multiply-add), so a float reference written the same way
// matches exactly.
struct Epilogue {
  std::vector<float> multiplier, bias;  // out_channels each
  bool relu = false;
  float upper = std::numeric_limits<float>::infinity();  // codes: the activation's upper clip
  int out_bits = 0;                                      // 0: float output; 1..8: u8 codes
  float out_scale = 1.0f;  // the next layer's activation scale (its code step), > 0
  // Throws r2q::InputError naming the bad field.
  void validate(int out_channels) const;
};

// Scratch memory reused across calls: after the first call with the largest shape, runs allocate nothing.
// Not shared between threads; the functions below use one per thread when none is given. The members are the
// implementation's buffers, not an interface.
class Workspace {
 public:
  AlignedVector<std::uint64_t> activation_bits;  // packed input planes of one image
  std::vector<std::int32_t> pixel_sums;          // per padded input pixel and group: sum of its codes
  std::vector<std::int32_t> code_sums;           // per output pixel of one row: sum of the codes of its patch
  std::vector<std::int32_t> row_acc;             // one output row of accumulators, for the epilogue
  std::vector<float> row_multiplier, row_bias;   // the epilogue's per-channel values repeated along a row
  // Byte offset of each patch word (dot products: of each 4-byte chunk) from the patch's origin.
  std::vector<std::int32_t> word_offsets;
  AlignedVector<std::uint8_t> padded_codes;  // dot-product path: one image's NHWC codes, zero border
  AlignedVector<std::int8_t> dot_codes;      // dot-product path: the layer's weight codes as bytes
};

// Exact accumulators sum_j m_j a_j, written [batch][out_h][out_w][out_channels] (NHWC). input_nhwc holds
// activation codes in [0, 2^act_bits - 1], [batch][in_h][in_w][in_channels]; act_bits in 1..8. Throws
// r2q::InputError for a code out of range (naming its index) or a shape other than the weights'.
void shift_add_conv(const ConvShape& shape, const PackedConvWeights& weights, const std::uint8_t* input_nhwc,
                    int batch, int act_bits, std::int32_t* acc_nhwc, Isa isa = Isa::Auto,
                    Workspace* workspace = nullptr);
// The same with the epilogue fused per output row: float outputs (epilogue.out_bits == 0) ...
void shift_add_conv(const ConvShape& shape, const PackedConvWeights& weights, const std::uint8_t* input_nhwc,
                    int batch, int act_bits, const Epilogue& epilogue, float* out_nhwc, Isa isa = Isa::Auto,
                    Workspace* workspace = nullptr);
// ... or the next layer's activation codes (epilogue.out_bits in 1..8).
void shift_add_conv(const ConvShape& shape, const PackedConvWeights& weights, const std::uint8_t* input_nhwc,
                    int batch, int act_bits, const Epilogue& epilogue, std::uint8_t* out_nhwc,
                    Isa isa = Isa::Auto, Workspace* workspace = nullptr);

}  // namespace r2q::backends::cpu
