// The CPU engines' shared loops (float_ops.h), in the reference interpreter's order and precision so that
// the floats feeding the next layer's quantizer are bit-identical to the reference's.
#include "backends/cpu/float_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "backends/cpu/float_gemm.h"
#include "core/deploy/codes.h"
#include "core/util/error.h"

namespace r2q::backends::cpu {
namespace {

using deploy::activate;
using deploy::Activation;
using deploy::ActKind;
using deploy::Layer;
using deploy::Op;
using deploy::Shape;
using deploy::WeightFormat;

void run_pool(const Layer& l, const Shape& in, const Shape& out, const float* x, float* y, int64_t n) {
  const deploy::Pool& p = l.pool;
  const bool max_pool = l.op == Op::MaxPool;
  for (int64_t bc = 0; bc < n * in.c; ++bc) {
    const float* plane = x + to_size(bc * in.h * in.w);
    for (int64_t oy = 0; oy < out.h; ++oy)
      for (int64_t ox = 0; ox < out.w; ++ox) {
        // The window in padded coordinates, clipped to the padded input (torch's avg_pool2d divisor), then
        // to the input.
        const int64_t y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
        const int64_t y1 = std::min(y0 + p.kernel_h, in.h + p.pad_h),
                      x1 = std::min(x0 + p.kernel_w, in.w + p.pad_w);
        const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min(y1, in.h);
        const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min(x1, in.w);
        float& dst = y[to_size((bc * out.h + oy) * out.w + ox)];
        if (max_pool) {
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t iy = ya; iy < yb; ++iy)
            for (int64_t ix = xa; ix < xb; ++ix) m = std::max(m, plane[iy * in.w + ix]);
          dst = m;
        } else {
          double sum = 0;
          for (int64_t iy = ya; iy < yb; ++iy)
            for (int64_t ix = xa; ix < xb; ++ix) sum += plane[iy * in.w + ix];
          const int64_t count = p.count_include_pad ? (y1 - y0) * (x1 - x0) : (yb - ya) * (xb - xa);
          dst = static_cast<float>(sum / static_cast<double>(count));
        }
      }
  }
}

FloatEpilogueJob::Act epilogue_act(Activation a) {
  switch (a) {
    case Activation::Relu:
      return FloatEpilogueJob::Act::Relu;
    case Activation::Relu6:
      return FloatEpilogueJob::Act::Relu6;
    case Activation::None:
      break;
  }
  return FloatEpilogueJob::Act::None;
}

// The input planes of one image and group (`channels` of them, NCHW) widened to double into the interior of
// `padded` [channels][in.h + 2 pad_h][in.w + 2 pad_w]; the zero border is the caller's, written once.
template <typename Widen>
void widen_padded(const float* planes, const Shape& in, int64_t channels, const deploy::Conv& c,
                  const Widen& widen, double* padded) {
  const int64_t padded_h = in.h + 2 * c.pad_h, padded_w = in.w + 2 * c.pad_w;
  for (int64_t ci = 0; ci < channels; ++ci) {
    const float* plane = planes + to_size(ci * in.h * in.w);
    for (int64_t iy = 0; iy < in.h; ++iy) {
      double* row = padded + to_size((ci * padded_h + iy + c.pad_h) * padded_w + c.pad_w);
      for (int64_t ix = 0; ix < in.w; ++ix) row[ix] = widen(plane[iy * in.w + ix]);
    }
  }
}

// The windows of the input planes of one image and group as im2col columns [k][pixel], widened to double;
// the padding is 0.
template <typename Widen>
void widen_columns(const float* planes, const Shape& in, const Shape& out, int64_t channels,
                   const deploy::Conv& c, bool float_input, const Widen& widen, double* columns) {
  const auto pixels = to_size(out.h * out.w);
  for (int64_t ci = 0; ci < channels; ++ci) {
    const float* plane = planes + to_size(ci * in.h * in.w);
    for (int64_t ky = 0; ky < c.kernel_h; ++ky)
      for (int64_t kx = 0; kx < c.kernel_w; ++kx) {
        double* row = columns + to_size((ci * c.kernel_h + ky) * c.kernel_w + kx) * pixels;
        // The output columns whose input column ix = ox * stride - pad + kx lies inside the image.
        const int64_t shift = kx - c.pad_w;
        const int64_t ox_begin = std::min(out.w, shift >= 0 ? 0 : (-shift + c.stride_w - 1) / c.stride_w);
        const int64_t ox_end =
            std::clamp<int64_t>(in.w - shift <= 0 ? 0 : (in.w - shift - 1) / c.stride_w + 1, ox_begin, out.w);
        for (int64_t oy = 0; oy < out.h; ++oy, row += out.w) {
          const int64_t iy = oy * c.stride_h - c.pad_h + ky;
          if (iy < 0 || iy >= in.h) {
            std::fill(row, row + out.w, 0.0);
            continue;
          }
          std::fill(row, row + ox_begin, 0.0);
          std::fill(row + ox_end, row + out.w, 0.0);
          const float* src = plane + iy * in.w;
          if (float_input && c.stride_w == 1) {
            for (int64_t ox = ox_begin; ox < ox_end; ++ox) row[ox] = static_cast<double>(src[ox + shift]);
          } else {
            for (int64_t ox = ox_begin; ox < ox_end; ++ox) row[ox] = widen(src[ox * c.stride_w + shift]);
          }
        }
      }
  }
}

}  // namespace

std::string bits_label(const deploy::Conv& c) {
  return "W" + std::to_string(c.weights.bits) + "A" + std::to_string(c.input_quant.bits);
}

void check_input(const deploy::FloatBatch& input, const Shape& expected, std::string_view engine,
                 int64_t max_n) {
  const Shape& s = input.shape;
  if (!(s == expected) || input.n < 0 || input.n > max_n || input.data.size() != to_size(input.n * s.size()))
    throw InputError(std::string(engine) + " engine: input of shape [" + std::to_string(s.c) + ", " +
                     std::to_string(s.h) + ", " + std::to_string(s.w) + "] x " + std::to_string(input.n) +
                     " (" + std::to_string(input.data.size()) + " values), the model takes [" +
                     std::to_string(expected.c) + ", " + std::to_string(expected.h) + ", " +
                     std::to_string(expected.w) + "]");
  for (std::size_t i = 0; i < input.data.size(); ++i)
    if (!std::isfinite(input.data[i]))
      throw InputError(std::string(engine) + " engine: input element " + std::to_string(i) +
                       " is not finite");
}

std::vector<float> take_float_loop_weights(deploy::Conv& c) {
  std::vector<float> weights;
  if (c.weights.format == WeightFormat::Float) {
    weights = std::move(c.weights.values);
  } else {
    for (int32_t code : deploy::weight_codes(c)) weights.push_back(static_cast<float>(code));
  }
  c.weights.values.clear();
  c.weights.planes.clear();
  c.weights.codes.clear();
  return weights;
}

std::string float_loops_label(const deploy::Conv& c) {
  return c.input_quant.kind == ActKind::None ? ": float loops (float input)"
                                             : ": float loops (float weights)";
}

void run_float_loops(const Layer& l, const float* weights, const Shape& in, const Shape& out, const float* x,
                     float* y, int64_t n, std::vector<double>& scratch, Isa isa, bool nhwc_out) {
  const deploy::Conv& c = l.conv;
  const deploy::InputQuant quant = c.input_quant;
  const bool float_input = quant.kind == ActKind::None;
  const int64_t in_per_group = c.in_channels / c.groups, out_per_group = c.out_channels / c.groups;
  const int64_t k = c.k();
  const auto pixels = to_size(out.h * out.w);
  // Per image and group: the input in double (codes, when quantized: exact; padding: 0, which adds nothing),
  // then each output channel's sums over k in the reference's order (ci, ky, kx), every product exact in
  // double (float_gemm.h), rounded to float once: the reference's very floats. NHWC output: the input with
  // its zero border, read in place, and the weights as doubles by k, [group][k][channel], so that whole
  // vectors of channels are summed side by side (float_window_conv); NCHW: the windows as columns [k][pixel]
  // (float_gemm).
  const int64_t padded_h = in.h + 2 * c.pad_h, padded_w = in.w + 2 * c.pad_w;
  const std::size_t input_doubles =
      nhwc_out ? to_size(in_per_group * padded_h * padded_w) : to_size(k) * pixels;
  scratch.resize(input_doubles + to_size(out_per_group) * pixels +
                 (nhwc_out ? to_size(k * c.out_channels) : 0));
  double* columns = scratch.data();  // or the padded input
  double* sums = columns + input_doubles;
  double* weights_by_k = sums + to_size(out_per_group) * pixels;
  if (nhwc_out)
    for (int64_t o = 0; o < c.out_channels; ++o)
      for (int64_t i = 0; i < k; ++i)
        weights_by_k[to_size(((o / out_per_group) * k + i) * out_per_group + o % out_per_group)] =
            static_cast<double>(weights[to_size(o * k + i)]);
  const auto widen = [&](float v) {
    return float_input ? static_cast<double>(v) : static_cast<double>(deploy::quantize_activation(v, quant));
  };
  if (nhwc_out) std::fill(columns, columns + input_doubles, 0.0);  // the border; the interior is rewritten
  for (int64_t b = 0; b < n; ++b)
    for (int64_t g = 0; g < c.groups; ++g) {
      const float* planes = x + to_size((b * in.c + g * in_per_group) * in.h * in.w);
      if (nhwc_out)
        widen_padded(planes, in, in_per_group, c, widen, columns);
      else
        widen_columns(planes, in, out, in_per_group, c, float_input, widen, columns);
      const int64_t o0 = g * out_per_group;
      const auto channels = to_size(out_per_group);
      if (nhwc_out)
        float_window_conv(isa, {.weights_by_k = weights_by_k + to_size(g * k * out_per_group),
                                .padded = columns,
                                .sums = sums,
                                .in_channels = in_per_group,
                                .padded_h = padded_h,
                                .padded_w = padded_w,
                                .kernel_h = c.kernel_h,
                                .kernel_w = c.kernel_w,
                                .stride_h = c.stride_h,
                                .stride_w = c.stride_w,
                                .out_h = out.h,
                                .out_w = out.w,
                                .channels = out_per_group});
      else
        float_gemm(isa, {.weights = weights + to_size(o0 * k),
                         .columns = columns,
                         .sums = sums,
                         .k = k,
                         .channels = out_per_group,
                         .pixels = pixels});
      float_epilogue(isa, {.sums = sums,
                           .mul = c.mul.data() + o0,
                           .bias = c.bias.data() + o0,
                           .dst = nhwc_out ? y + to_size(b) * pixels * to_size(out.c) + to_size(o0)
                                           : y + to_size(b * out.c + o0) * pixels,
                           .pixels = pixels,
                           .channels = channels,
                           .channels_last = nhwc_out,
                           .dst_stride = to_size(out.c),
                           .act = epilogue_act(l.activation)});
    }
}

std::optional<AffineLayer> prepare_affine_layer(const deploy::Conv& c, const Shape& in, Isa isa) {
  if (!c.input_affine.on) return std::nullopt;
  const int64_t taps = c.kernel_h * c.kernel_w;
  const int64_t max_code =
      std::max(std::abs(int64_t{c.input_quant.min_code}), std::abs(int64_t{c.input_quant.max_code}));
  if (taps * deploy::max_abs_weight_code(c.weights) * max_code >= (int64_t{1} << 24)) return std::nullopt;
  AffineLayer a;
  a.offsets = deploy::affine_offsets(c, in);
  for (float m : c.input_affine.mul) a.in_mul.push_back(static_cast<double>(m));
  // Unsigned codes only (the integer kernels' inputs are u8 / non-negative int16).
  const int64_t o_count = c.out_channels;
  const int64_t largest_code = c.input_quant.kind == ActKind::Unsigned ? c.input_quant.max_code : 256;
  a.int_sums = int_window_sums_for(isa, c.in_channels, c.kernel_w, o_count, largest_code,
                                   deploy::max_abs_weight_code(c.weights));
  // The weights in the layout of the kernel that reads them.
  const int64_t pairs = (c.kernel_w + 1) / 2;
  if (a.int_sums == IntSums::Bytes) a.quads.assign(to_size(c.in_channels * c.kernel_h * o_count * 4), 0);
  if (a.int_sums == IntSums::Words)
    a.pairs.assign(to_size(c.in_channels * c.kernel_h * pairs * o_count * 2), 0);
  if (a.int_sums == IntSums::None) a.weights_by_k.resize(to_size(c.in_channels * taps * o_count));
  const std::vector<int32_t> w = deploy::weight_codes(c);
  for (int64_t ci = 0; ci < c.in_channels; ++ci)
    for (int64_t ky = 0; ky < c.kernel_h; ++ky)
      for (int64_t o = 0; o < o_count; ++o)
        for (int64_t kx = 0; kx < c.kernel_w; ++kx) {
          const int32_t code = w[to_size(o * c.k() + (ci * c.kernel_h + ky) * c.kernel_w + kx)];
          const int64_t tap = (ci * c.kernel_h + ky) * c.kernel_w + kx;
          switch (a.int_sums) {
            case IntSums::Bytes:
              a.quads[to_size(((ci * c.kernel_h + ky) * o_count + o) * 4 + kx)] = static_cast<int8_t>(code);
              break;
            case IntSums::Words:
              a.pairs[to_size((((ci * c.kernel_h + ky) * pairs + kx / 2) * o_count + o) * 2 + kx % 2)] =
                  static_cast<int16_t>(code);
              break;
            case IntSums::None:
              a.weights_by_k[to_size(tap * o_count + o)] = static_cast<float>(code);
              break;
          }
        }
  return a;
}

std::size_t AffineLayer::weight_bytes() const {
  return weights_by_k.size() * sizeof(float) + quads.size() + pairs.size() * sizeof(std::int16_t);
}

void run_affine_layer(const Layer& l, const AffineLayer& a, const Shape& in, const Shape& out, const float* x,
                      float* y, int64_t n, std::vector<float>& scratch, std::vector<double>& row_scratch,
                      Isa isa, bool nhwc_out, deploy::IntBatch* acc, std::uint8_t* codes_out,
                      const deploy::InputQuant* codes_quant) {
  if (codes_out != nullptr &&
      (!nhwc_out || codes_quant == nullptr || codes_quant->kind != ActKind::Unsigned ||
       codes_quant->min_code < 0 || codes_quant->max_code > 255))
    throw std::invalid_argument("run_affine_layer: codes need an NHWC output and unsigned 8-bit codes");
  const deploy::Conv& c = l.conv;
  const deploy::InputQuant quant = c.input_quant;
  const int64_t padded_h = in.h + 2 * c.pad_h, padded_w = in.w + 2 * c.pad_w, o_count = c.out_channels;
  const std::size_t padded_plane = to_size(padded_h * padded_w), pixels = to_size(out.h * out.w);
  const std::size_t channels = to_size(in.c), outs = to_size(o_count), image_out = pixels * outs;
  // The padded codes [C][padded_h][padded_w] (the border stays 0), the per-channel sums [C][pixel][O], an
  // NHWC output for a caller that wants NCHW, and one row of codes as bytes.
  // With an integer kernel the codes are bytes (4 more after the last row, read and multiplied by 0) or
  // int16 (2 more); the float32 lanes take floats.
  const std::size_t codes_size = a.int_sums == IntSums::Bytes   ? (channels * padded_plane + 4 + 3) / 4
                                 : a.int_sums == IntSums::Words ? (channels * padded_plane + 2 + 1) / 2
                                                                : channels * padded_plane;
  const std::size_t sums_size = pixels * channels * outs;
  scratch.resize(codes_size + sums_size + (nhwc_out ? 0 : image_out) + (to_size(in.w) + 3) / 4);
  float* codes = scratch.data();
  auto* code_bytes = reinterpret_cast<std::uint8_t*>(codes);
  auto* code_words = reinterpret_cast<std::int16_t*>(codes);
  float* sums = codes + codes_size;
  float* staged = sums + sums_size;
  auto* row_codes = reinterpret_cast<std::uint8_t*>(staged + (nhwc_out ? 0 : image_out));
  const bool bytes = quant.kind == ActKind::Unsigned && quant.max_code <= 255;
  std::fill(codes, codes + codes_size, 0.0f);
  row_scratch.resize(to_size(out.w) * outs);
  if (acc != nullptr) *acc = deploy::IntBatch(n, {in.c * o_count, out.h, out.w});
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ci = 0; ci < in.c; ++ci)
      for (int64_t iy = 0; iy < in.h; ++iy) {
        const float* src = x + to_size(((b * in.c + ci) * in.h + iy) * in.w);
        const std::size_t at = to_size(ci) * padded_plane + to_size((iy + c.pad_h) * padded_w + c.pad_w);
        if (!bytes) {  // codes outside [0, 255]: the float32 lanes, by the scalar rule
          for (int64_t ix = 0; ix < in.w; ++ix)
            codes[at + to_size(ix)] = static_cast<float>(deploy::quantize_activation(src[ix], quant));
          continue;
        }
        // The kernels' vector quantizer, straight into the byte rows or widened to the kernel's type.
        std::uint8_t* row = a.int_sums == IntSums::Bytes ? code_bytes + at : row_codes;
        quantize_unsigned(isa, src, to_size(in.w), quant.scale, static_cast<int>(quant.min_code),
                          static_cast<int>(quant.max_code), row);
        if (a.int_sums == IntSums::Words)
          for (int64_t ix = 0; ix < in.w; ++ix) code_words[at + to_size(ix)] = row_codes[ix];
        if (a.int_sums == IntSums::None)
          for (int64_t ix = 0; ix < in.w; ++ix) codes[at + to_size(ix)] = static_cast<float>(row_codes[ix]);
      }
    // Integer codes times integer weights, every partial sum an integer below 2^24: exact in float32.
    const CodeWindowJob window{.weights_by_k = a.weights_by_k.data(),
                               .padded = codes,
                               .sums = sums,
                               .in_channels = in.c,
                               .padded_h = padded_h,
                               .padded_w = padded_w,
                               .kernel_h = c.kernel_h,
                               .kernel_w = c.kernel_w,
                               .stride_h = c.stride_h,
                               .stride_w = c.stride_w,
                               .out_h = out.h,
                               .out_w = out.w,
                               .channels = o_count};
    if (a.int_sums == IntSums::Bytes)
      byte_window_sums({.padded = code_bytes, .quads = a.quads.data(), .window = window});
    else if (a.int_sums == IntSums::Words)
      word_window_sums({.padded = code_words, .pairs = a.pairs.data(), .window = window});
    else
      channel_window_sums(isa, window);
    float* dst = nhwc_out ? y + to_size(b) * image_out : staged;
    for (int64_t oy = 0; oy < out.h; ++oy) {
      const std::size_t row = to_size(oy * out.w);
      affine_epilogue(isa, {.sums = sums + row * outs,
                            .channel_stride = pixels * outs,
                            .in_channels = in.c,
                            .in_mul = a.in_mul.data(),
                            .offsets = a.offsets.pixel(oy, 0),
                            .mul = c.mul.data(),
                            .bias = c.bias.data(),
                            .t = row_scratch.data(),
                            .dst = dst + row * outs,
                            .pixels = to_size(out.w),
                            .channels = outs,
                            .act = epilogue_act(l.activation)});
      // The readers' codes of the row just written, while it is in L1.
      if (codes_out != nullptr)
        quantize_unsigned(isa, dst + row * outs, to_size(out.w) * outs, codes_quant->scale,
                          static_cast<int>(codes_quant->min_code), static_cast<int>(codes_quant->max_code),
                          codes_out + to_size(b) * image_out + row * outs);
    }
    if (!nhwc_out)
      for (std::size_t o = 0; o < outs; ++o)
        for (std::size_t p = 0; p < pixels; ++p)
          y[(to_size(b) * outs + o) * pixels + p] = staged[p * outs + o];
    if (acc != nullptr)
      for (std::size_t ci = 0; ci < channels; ++ci)
        for (std::size_t o = 0; o < outs; ++o)
          for (std::size_t p = 0; p < pixels; ++p)
            acc->data[((to_size(b) * channels + ci) * outs + o) * pixels + p] =
                static_cast<int32_t>(sums[(ci * pixels + p) * outs + o]);
  }
}

void run_integer_loops(const Layer& l, const Shape& in, const float* x, float* y, int64_t n,
                       deploy::IntBatch* acc) {
  const deploy::Conv& c = l.conv;
  deploy::IntBatch codes(n, in);
  for (std::size_t i = 0; i < codes.data.size(); ++i)
    codes.data[i] = deploy::quantize_activation(x[i], c.input_quant);
  deploy::IntBatch result = deploy::integer_accumulators(l, codes);
  if (c.input_affine.on) {
    const deploy::FloatBatch out = deploy::input_affine_epilogue(result, c, in, l.activation);
    std::copy(out.data.begin(), out.data.end(), y);
    if (acc != nullptr) *acc = std::move(result);
    return;
  }
  const std::size_t plane = to_size(result.shape.h * result.shape.w);
  for (std::size_t i = 0; i < result.data.size(); ++i) {
    const std::size_t o = i / plane % to_size(result.shape.c);
    y[i] = activate(static_cast<float>(result.data[i]) * c.mul[o] + c.bias[o], l.activation);
  }
  if (acc != nullptr) *acc = std::move(result);
}

void run_other(const Layer& l, std::span<const float* const> in, std::span<const Shape> in_shapes,
               const Shape& out, float* y, int64_t n) {
  const Shape& is = in_shapes.front();
  const float* x = in.front();
  const std::size_t plane = to_size(is.h * is.w);
  switch (l.op) {
    case Op::Normalize:
      for (int64_t b = 0; b < n; ++b)
        for (std::size_t c = 0; c < to_size(is.c); ++c)
          for (std::size_t i = 0; i < plane; ++i) {
            const std::size_t at = (to_size(b * is.c) + c) * plane + i;
            y[at] = (x[at] - l.normalize.mean[c]) * l.normalize.inv_std[c];
          }
      return;
    case Op::Add: {
      // Float32 sums in input order, as the reference; the activation in its own pass (loops that vectorise).
      const std::size_t count = to_size(n * out.size());
      const float* a = x;
      for (std::size_t i = 1; i < in.size(); ++i) {
        const float* b = in[i];
        for (std::size_t e = 0; e < count; ++e) y[e] = a[e] + b[e];
        a = y;
      }
      if (in.size() == 1) std::copy(x, x + count, y);
      if (l.activation == deploy::Activation::Relu)
        for (std::size_t e = 0; e < count; ++e) y[e] = std::max(y[e], 0.0f);
      if (l.activation == deploy::Activation::Relu6)
        for (std::size_t e = 0; e < count; ++e) y[e] = std::min(std::max(y[e], 0.0f), 6.0f);
      return;
    }
    case Op::Concat:
      for (int64_t b = 0; b < n; ++b) {
        float* dst = y + to_size(b * out.size());
        for (std::size_t p = 0; p < in.size(); ++p) {
          const std::size_t part = to_size(in_shapes[p].size());
          dst = std::copy(in[p] + to_size(b) * part, in[p] + to_size(b + 1) * part, dst);
        }
      }
      return;
    case Op::MaxPool:
    case Op::AvgPool:
      run_pool(l, is, out, x, y, n);
      return;
    case Op::GlobalAvgPool:
      for (std::size_t bc = 0; bc < to_size(n * is.c); ++bc) {
        double sum = 0;
        for (std::size_t i = 0; i < plane; ++i) sum += x[bc * plane + i];
        y[bc] = static_cast<float>(sum / static_cast<double>(plane));
      }
      return;
    case Op::Flatten:
      std::copy(x, x + to_size(n * is.size()), y);  // NCHW: the same bytes
      return;
    case Op::ChannelPadSubsample: {
      const deploy::PadSubsample& p = l.shortcut;
      std::fill(y, y + to_size(n * out.size()), 0.0f);
      for (int64_t b = 0; b < n; ++b)
        for (int64_t c = 0; c < is.c; ++c)
          for (int64_t i = 0; i < out.h; ++i)
            for (int64_t j = 0; j < out.w; ++j)
              y[to_size(((b * out.c + p.pad_before + c) * out.h + i) * out.w + j)] =
                  x[to_size(((b * is.c + c) * is.h + i * p.stride) * is.w + j * p.stride)];
      return;
    }
    case Op::Conv2d:
    case Op::Linear:
      break;
  }
  throw InputError(l.name + ": not a loop op");
}

}  // namespace r2q::backends::cpu
