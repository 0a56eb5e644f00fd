// The shift-add convolution's entry points: choosing the kernel at run time (argument, R2Q_KERNEL_ISA,
// cpu_info()) and the driver that packs each image and runs the kernel and the epilogue row by row.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <variant>

#include "backends/cpu/shift_add_conv.h"
#include "backends/cpu/shift_add_kernels.h"
#include "core/util/cpu.h"
#include "core/util/error.h"

namespace r2q::backends::cpu {
namespace {

constexpr const char* kIsaVariable = "R2Q_KERNEL_ISA";
constexpr Isa kKernelIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512};  // worst to best

// A quantizer job over count values into codes, after the preconditions r2q's engines guarantee
// (std::invalid_argument otherwise).
detail::AddCodesJob quantizer_job(std::size_t count, float scale, int min_code, int max_code,
                                  std::uint8_t* codes) {
  if (min_code < 0 || max_code > 255 || min_code > max_code || !(scale > 0.0f))
    throw std::invalid_argument("quantizer: codes [" + std::to_string(min_code) + ", " +
                                std::to_string(max_code) + "] or scale " + std::to_string(scale) +
                                " out of range");
  detail::AddCodesJob job;
  job.count = count;
  job.scale = scale;
  job.lo = static_cast<float>(min_code);
  job.hi = static_cast<float>(max_code);
  job.codes = codes;
  return job;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Auto:
      return "auto";
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "?";
}

Isa parse_isa(std::string_view name) {
  for (Isa isa : {Isa::Auto, Isa::Scalar, Isa::Avx2, Isa::Avx512})
    if (name == isa_name(isa)) return isa;
  throw InputError("unknown kernel ISA '" + std::string(name) + "' (known: auto, scalar, avx2, avx512)");
}

std::string isa_unavailable_reason(Isa isa) {
  [[maybe_unused]] const CpuInfo& cpu = cpu_info();
  switch (isa) {
    case Isa::Auto:
    case Isa::Scalar:
      return "";
#ifdef R2Q_X86_KERNELS
    case Isa::Avx2:
      return cpu.avx2 ? "" : "the CPU lacks AVX2";
    case Isa::Avx512:
      if (!cpu.avx512f) return "the CPU lacks AVX-512F";
      if (!cpu.avx512bw) return "the CPU lacks AVX-512BW";
      if (!cpu.avx512_vpopcntdq) return "the CPU lacks AVX-512 VPOPCNTDQ";
      return "";
#else
    case Isa::Avx2:
    case Isa::Avx512:
      return "this build has no x86 kernels";
#endif
  }
  return "unknown ISA";
}

std::vector<Isa> available_isas() {
  std::vector<Isa> out;
  for (Isa isa : kKernelIsas)
    if (isa_unavailable_reason(isa).empty()) out.push_back(isa);
  return out;
}

Isa resolve_isa(Isa requested) {
  if (requested == Isa::Auto) {
    const char* env = std::getenv(kIsaVariable);
    if (env != nullptr && *env != '\0') {
      Isa from_env;
      try {
        from_env = parse_isa(env);
      } catch (const InputError& e) {
        throw InputError(std::string(kIsaVariable) + ": " + e.what());
      }
      if (from_env != Isa::Auto) {
        const std::string why = isa_unavailable_reason(from_env);
        if (!why.empty())
          throw InputError(std::string(kIsaVariable) + "=" + env + " asks for the " +
                           std::string(isa_name(from_env)) +
                           " shift-add kernel, which cannot run here: " + why);
        return from_env;
      }
    }
    return available_isas().back();
  }
  const std::string why = isa_unavailable_reason(requested);
  if (!why.empty())
    throw InputError("the " + std::string(isa_name(requested)) + " shift-add kernel cannot run here: " + why);
  return requested;
}

void add_and_quantize(Isa isa, const float* a, const float* b, std::size_t count, bool relu, float upper,
                      float* sum, float scale, int min_code, int max_code, std::uint8_t* codes) {
  detail::AddCodesJob job = quantizer_job(count, scale, min_code, max_code, codes);
  job.a = a;
  job.b = b;
  job.relu = relu;
  job.upper = upper;
  job.sum = sum;
  detail::kernel_table(resolve_isa(isa)).add_codes(job);
}

std::string_view dot_product_name(Isa isa) {
  if (!dot_product_runs(isa)) return "";
  return resolve_isa(isa) == Isa::Avx512 ? "avx512-vnni" : "avx2";
}

void quantize_unsigned(Isa isa, const float* x, std::size_t count, float scale, int min_code, int max_code,
                       std::uint8_t* codes) {
  detail::AddCodesJob job = quantizer_job(count, scale, min_code, max_code, codes);
  job.a = x;
  detail::kernel_table(resolve_isa(isa)).quantize_codes(job);
}

bool dot_product_runs(Isa isa) {
  return detail::kernel_table(resolve_isa(isa)).dot_row != nullptr;
}

bool uses_dot_product(Isa isa, const PackedConvWeights& weights) {
  return weights.has_dot_codes() && dot_product_runs(isa);
}

namespace detail {

const KernelTable& kernel_table(Isa isa) {
  switch (isa) {
#ifdef R2Q_X86_KERNELS
    case Isa::Avx2:
      return avx2_kernels();
    case Isa::Avx512: {
      // The dot-product kernel needs VNNI besides the bit-plane kernel's VPOPCNTDQ.
      static const KernelTable with_dot = [] {
        KernelTable table = avx512_kernels();
        if (cpu_info().avx512_vnni) {
          table.dot_row = dot_row_avx512_vnni;
          table.dot_expand = dot_expand_avx512;
        }
        return table;
      }();
      return with_dot;
    }
#endif
    default:
      return scalar_kernels();
  }
}

namespace {

// The preconditions r2q's engines guarantee; a failure is a bug in the caller (std::invalid_argument).
void check(const KernelTable& kernels, const ConvCall& call) {
  const ConvShape& shape = call.shape;
  shape.validate();
  if (!(call.weights.shape() == shape))
    throw std::invalid_argument("shift-add conv: the weights were packed for a different convolution shape");
  if (call.act_bits < 1 || call.act_bits > 8)
    throw std::invalid_argument("shift-add conv: act_bits = " + std::to_string(call.act_bits) +
                                " is not in 1..8");
  if (call.batch < 0)
    throw std::invalid_argument("shift-add conv: batch = " + std::to_string(call.batch) + " is negative");
  const bool accumulators = std::holds_alternative<std::int32_t*>(call.output);
  if (accumulators != (call.epilogue == nullptr))
    throw std::invalid_argument(
        "shift-add conv: an epilogue goes with float or code outputs, not accumulators");
  if (call.epilogue != nullptr) call.epilogue->validate(shape.out_channels);
  if (!call.weights.has_bit_planes() && call.weights.has_dot_codes() && kernels.dot_row == nullptr)
    throw std::invalid_argument(
        "shift-add conv: the weights were packed for the dot-product kernel only, which this ISA lacks");
  // |sum_j m_j a_j| <= K (2^k - 1)(2^l - 1) must fit the s32 accumulator (and 2 T, computed in 64 bits, then
  // truncates nothing).
  const std::int64_t k_len = static_cast<std::int64_t>(shape.group_in()) * shape.kernel_h * shape.kernel_w;
  if (k_len * ((1 << call.weights.weight_bits()) - 1) * ((1 << call.act_bits) - 1) >
      std::numeric_limits<std::int32_t>::max())
    throw std::invalid_argument("shift-add conv: a patch of " + std::to_string(k_len) +
                                " values could overflow the 32-bit accumulator at these bit widths");
  const bool null_output = std::visit([](auto* p) { return p == nullptr; }, call.output);
  if (call.batch > 0 && (call.input_nhwc == nullptr || null_output))
    throw std::invalid_argument("shift-add conv: null input or output");
}

// The epilogue's row of accumulators and its per-element multiplier and bias.
void prepare_epilogue(const ConvCall& call, Workspace& ws) {
  if (call.epilogue == nullptr) return;
  const std::size_t channels = static_cast<std::size_t>(call.shape.out_channels);
  const std::size_t row_size = static_cast<std::size_t>(call.shape.out_w()) * channels;
  ws.row_acc.resize(row_size);
  ws.row_multiplier.resize(row_size);
  ws.row_bias.resize(row_size);
  for (std::size_t p = 0; p < row_size; p += channels) {
    std::copy(call.epilogue->multiplier.begin(), call.epilogue->multiplier.end(),
              ws.row_multiplier.begin() + p);
    std::copy(call.epilogue->bias.begin(), call.epilogue->bias.end(), ws.row_bias.begin() + p);
  }
}

// Sizes the workspace for the call and fills what does not change between images: the word offsets of a
// patch, the epilogue's per-element multiplier and bias of one output row, zeroed planes (their padding stays
// zero).
void prepare(const ConvCall& call, const ActivationGeometry& geo, Workspace& ws) {
  const ConvShape& shape = call.shape;
  const PatchLayout& layout = call.weights.layout();
  const std::size_t plane_area = static_cast<std::size_t>(geo.padded_h) * geo.padded_w;
  ws.activation_bits.resize(geo.bytes(shape.groups) / sizeof(std::uint64_t));
  ws.pixel_sums.resize(plane_area * shape.groups);
  ws.code_sums.resize(static_cast<std::size_t>(shape.out_w()));
  ws.word_offsets.resize(static_cast<std::size_t>(layout.words));
  prepare_epilogue(call, ws);
  for (int t = 0; t < layout.words; ++t)
    ws.word_offsets[static_cast<std::size_t>(t)] =
        static_cast<std::int32_t>((t / layout.row_words) * geo.row_stride + (t % layout.row_words) * 8);
  std::memset(ws.activation_bits.data(), 0, geo.bytes(shape.groups));
  std::fill(ws.pixel_sums.begin(), ws.pixel_sums.end(), 0);
}

// Kernels that count nibbles: low nibbles replace each plane in place, high nibbles go to planes
// [act_bits, 2 act_bits).
void split_nibbles(const ConvCall& call, const ActivationGeometry& geo, Workspace& ws) {
  const std::size_t plane_set = static_cast<std::size_t>(geo.plane_stride) * call.act_bits / 8;
  for (int g = 0; g < call.shape.groups; ++g) {
    std::uint64_t* w = ws.activation_bits.data() + static_cast<std::size_t>(geo.group_stride) / 8 * g;
    for (std::size_t i = 0; i < plane_set; ++i) {
      const std::uint64_t v = w[i];
      w[i] = v & 0x0F0F0F0F0F0F0F0Full;
      w[plane_set + i] = (v >> 4) & 0x0F0F0F0F0F0F0F0Full;
    }
  }
}

// The code sum S of each patch of output row `oy` in group `g`, for the - (2^k - 1) S term of the identity;
// taps outer, pixels inner, so that the inner loop vectorises at stride 1.
void patch_code_sums(const ConvShape& shape, const ActivationGeometry& geo, int g, int oy, Workspace& ws) {
  const std::size_t plane_area = static_cast<std::size_t>(geo.padded_h) * geo.padded_w;
  const std::int32_t* sums = ws.pixel_sums.data() + plane_area * g;
  std::int32_t* code_sums = ws.code_sums.data();
  const int out_w = shape.out_w(), y0 = oy * shape.stride_h;
  std::fill(ws.code_sums.begin(), ws.code_sums.end(), 0);
  for (int ky = 0; ky < shape.kernel_h; ++ky)
    for (int kx = 0; kx < shape.kernel_w; ++kx) {
      const std::int32_t* tap = sums + static_cast<std::size_t>(y0 + ky) * geo.padded_w + kx;
      if (shape.stride_w == 1)
        for (int ox = 0; ox < out_w; ++ox) code_sums[ox] += tap[ox];
      else
        for (int ox = 0; ox < out_w; ++ox) code_sums[ox] += tap[ox * shape.stride_w];
    }
}

// One output row of accumulators (ws.row_acc) through the epilogue into the call's output at row_index;
// nothing where the call wants the accumulators themselves.
void finish_row(const KernelTable& kernels, const ConvCall& call, std::size_t row_index, Workspace& ws) {
  if (call.epilogue == nullptr) return;
  EpilogueRowJob e;
  e.acc = ws.row_acc.data();
  e.count = static_cast<int>(ws.row_acc.size());
  e.multiplier = ws.row_multiplier.data();
  e.bias = ws.row_bias.data();
  e.relu = call.epilogue->relu;
  e.upper = call.epilogue->upper;
  e.out_bits = call.epilogue->out_bits;
  e.out_scale = call.epilogue->out_scale;
  e.out_float =
      std::holds_alternative<float*>(call.output) ? std::get<float*>(call.output) + row_index : nullptr;
  e.out_codes = std::holds_alternative<std::uint8_t*>(call.output)
                    ? std::get<std::uint8_t*>(call.output) + row_index
                    : nullptr;
  kernels.epilogue_row(e);
}

// Every output row of image `n` (its planes packed): the kernel's rows per group, then the epilogue.
void convolve_image(const KernelTable& kernels, const ConvCall& call, const ActivationGeometry& geo, int n,
                    Workspace& ws) {
  const ConvShape& shape = call.shape;
  const PackedConvWeights& weights = call.weights;
  const PatchLayout& layout = weights.layout();
  const int out_h = shape.out_h(), out_w = shape.out_w();
  const int channels = shape.out_channels, group_out = shape.group_out();
  const std::size_t row_size = static_cast<std::size_t>(out_w) * channels;
  const auto* bits = reinterpret_cast<const std::uint8_t*>(ws.activation_bits.data());
  for (int oy = 0; oy < out_h; ++oy) {
    const std::size_t row_index = (static_cast<std::size_t>(n) * out_h + oy) * row_size;
    std::int32_t* row_out =
        call.epilogue != nullptr ? ws.row_acc.data() : std::get<std::int32_t*>(call.output) + row_index;
    for (int g = 0; g < shape.groups; ++g) {
      patch_code_sums(shape, geo, g, oy, ws);
      ConvRowJob job;
      job.origin = bits + g * geo.group_stride + oy * shape.stride_h * geo.row_stride;
      job.plane_stride = geo.plane_stride;
      job.nibble_offset = geo.plane_stride * call.act_bits;
      job.pixel_step = static_cast<std::ptrdiff_t>(shape.stride_w) * layout.pixel_bits / 8;
      job.word_offsets = ws.word_offsets.data();
      job.words = layout.words;
      job.pixels = out_w;
      job.act_bits = call.act_bits;
      job.code_sums = ws.code_sums.data();
      job.weights = weights.block(g, 0);
      job.block_words = weights.block_words();
      job.blocks = weights.blocks_per_group();
      job.weight_bits = weights.weight_bits();
      job.out_channels = group_out;
      job.out = row_out + g * group_out;
      job.out_stride = channels;
      kernels.conv_row(job);
    }
    finish_row(kernels, call, row_index, ws);
  }
}

// The dot-product path: one image's NHWC codes copied into the zero-bordered buffer (checking their range),
// then each output row's groups on the kernel, then the epilogue.
void dot_image(const KernelTable& kernels, const ConvCall& call, int n, Workspace& ws) {
  const ConvShape& shape = call.shape;
  const PackedConvWeights& weights = call.weights;
  const int c_all = shape.in_channels, padded_w = shape.in_w + 2 * shape.pad_w;
  const std::ptrdiff_t row_stride = static_cast<std::ptrdiff_t>(padded_w) * c_all;
  const std::size_t image_in = static_cast<std::size_t>(shape.in_h) * shape.in_w * c_all;
  const std::uint8_t* image = call.input_nhwc + n * image_in;
  const std::size_t row_in = static_cast<std::size_t>(shape.in_w) * c_all;
  std::uint8_t seen = 0;  // bytes: an OR the compiler keeps in byte lanes (an int would widen every code)
  for (int y = 0; y < shape.in_h; ++y) {
    const std::uint8_t* __restrict src = image + y * row_in;
    std::uint8_t* __restrict dst = ws.padded_codes.data() + (y + shape.pad_h) * row_stride +
                                   static_cast<std::ptrdiff_t>(shape.pad_w) * c_all;
    for (std::size_t i = 0; i < row_in; ++i) {
      seen = static_cast<std::uint8_t>(seen | src[i]);
      dst[i] = src[i];
    }
  }
  if (seen >> call.act_bits) throw_bad_code(shape, image, call.act_bits, n * image_in);

  const int out_h = shape.out_h(), out_w = shape.out_w();
  const int channels = shape.out_channels, group_in = shape.group_in(), group_out = shape.group_out();
  const std::size_t row_size = static_cast<std::size_t>(out_w) * channels;
  const int pair_max = 2 * ((1 << call.act_bits) - 1) * ((1 << weights.weight_bits()) - 1);
  const int flush_chunks = std::max(1, 32767 / pair_max);
  for (int oy = 0; oy < out_h; ++oy) {
    const std::size_t row_index = (static_cast<std::size_t>(n) * out_h + oy) * row_size;
    std::int32_t* row_out =
        call.epilogue != nullptr ? ws.row_acc.data() : std::get<std::int32_t*>(call.output) + row_index;
    for (int g = 0; g < shape.groups; ++g) {
      DotRowJob job;
      job.origin = ws.padded_codes.data() + oy * shape.stride_h * row_stride + g * group_in;
      job.pixel_step = static_cast<std::ptrdiff_t>(shape.stride_w) * c_all;
      job.chunk_offsets = ws.word_offsets.data();
      job.chunks = weights.dot_chunks();
      job.flush_chunks = flush_chunks;
      job.pixels = out_w;
      job.weights = ws.dot_codes.data() +
                    static_cast<std::size_t>(g) * weights.dot_blocks_per_group() * weights.dot_block_bytes();
      job.blocks = weights.dot_blocks_per_group();
      job.block_bytes = weights.dot_block_bytes();
      job.out_channels = group_out;
      job.out = row_out + g * group_out;
      job.out_stride = channels;
      kernels.dot_row(job);
    }
    finish_row(kernels, call, row_index, ws);
  }
}

// Sizes the workspace for the dot-product path: the weight codes expanded to bytes, the zero-bordered image,
// the chunk offsets, the epilogue's rows.
void prepare_dot(const KernelTable& kernels, const ConvCall& call, Workspace& ws) {
  const ConvShape& shape = call.shape;
  const PackedConvWeights& weights = call.weights;
  ws.dot_codes.resize(weights.dot_vectors() * 64);
  kernels.dot_expand(weights.dot_bits(), weights.dot_vectors(), weights.weight_bits(), ws.dot_codes.data());
  const std::ptrdiff_t c_all = shape.in_channels, padded_w = shape.in_w + 2 * shape.pad_w;
  const std::size_t bytes = static_cast<std::size_t>((shape.in_h + 2 * shape.pad_h) * padded_w * c_all);
  ws.padded_codes.assign(bytes, 0);
  prepare_epilogue(call, ws);
  const int cg = shape.group_in();
  ws.word_offsets.clear();
  for (int ky = 0; ky < shape.kernel_h; ++ky)
    for (int kx = 0; kx < shape.kernel_w; ++kx)
      for (int q = 0; q < cg / 4; ++q)
        ws.word_offsets.push_back(static_cast<std::int32_t>((ky * padded_w + kx) * c_all + 4 * q));
}

}  // namespace

void run_conv(const KernelTable& kernels, const ConvCall& call, Workspace& ws) {
  check(kernels, call);
  if (kernels.dot_row != nullptr && call.weights.has_dot_codes()) {
    prepare_dot(kernels, call, ws);
    for (int n = 0; n < call.batch; ++n) dot_image(kernels, call, n, ws);
    return;
  }
  const ConvShape& shape = call.shape;
  const PatchLayout& layout = call.weights.layout();
  const ActivationGeometry geo = ActivationGeometry::of(shape, layout, call.act_bits, kernels.nibble_planes);
  prepare(call, geo, ws);
  auto* bits = reinterpret_cast<std::uint8_t*>(ws.activation_bits.data());
  const std::size_t image_in = static_cast<std::size_t>(shape.in_h) * shape.in_w * shape.in_channels;
  for (int n = 0; n < call.batch; ++n) {
    pack_activations(shape, layout, geo, call.input_nhwc + n * image_in, call.act_bits, n * image_in,
                     kernels.pack_row, bits, ws.pixel_sums.data());
    if (kernels.nibble_planes) split_nibbles(call, geo, ws);
    convolve_image(kernels, call, geo, n, ws);
  }
}

}  // namespace detail

namespace {

thread_local Workspace default_workspace;

Workspace& workspace_or_default(Workspace* ws) {
  return ws != nullptr ? *ws : default_workspace;
}

}  // namespace

void shift_add_conv(const ConvShape& shape, const PackedConvWeights& weights, const std::uint8_t* input_nhwc,
                    int batch, int act_bits, std::int32_t* acc_nhwc, Isa isa, Workspace* workspace) {
  detail::run_conv(detail::kernel_table(resolve_isa(isa)),
                   {shape, weights, input_nhwc, batch, act_bits, nullptr, acc_nhwc},
                   workspace_or_default(workspace));
}

void shift_add_conv(const ConvShape& shape, const PackedConvWeights& weights, const std::uint8_t* input_nhwc,
                    int batch, int act_bits, const Epilogue& epilogue, float* out_nhwc, Isa isa,
                    Workspace* workspace) {
  if (epilogue.out_bits != 0)
    throw std::invalid_argument("shift-add conv: epilogue.out_bits = " + std::to_string(epilogue.out_bits) +
                                " asks for codes, but the output is float (use out_bits = 0)");
  detail::run_conv(detail::kernel_table(resolve_isa(isa)),
                   {shape, weights, input_nhwc, batch, act_bits, &epilogue, out_nhwc},
                   workspace_or_default(workspace));
}

void shift_add_conv(const ConvShape& shape, const PackedConvWeights& weights, const std::uint8_t* input_nhwc,
                    int batch, int act_bits, const Epilogue& epilogue, std::uint8_t* out_nhwc, Isa isa,
                    Workspace* workspace) {
  if (epilogue.out_bits < 1)
    throw std::invalid_argument("shift-add conv: epilogue.out_bits = " + std::to_string(epilogue.out_bits) +
                                " gives float outputs, but the output is codes (use out_bits in 1..8)");
  detail::run_conv(detail::kernel_table(resolve_isa(isa)),
                   {shape, weights, input_nhwc, batch, act_bits, &epilogue, out_nhwc},
                   workspace_or_default(workspace));
}

}  // namespace r2q::backends::cpu
