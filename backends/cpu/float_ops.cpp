// The CPU engines' shared loops (float_ops.h), in the reference interpreter's order and precision so that
// the floats feeding the next layer's quantizer are bit-identical to the reference's.
#include "backends/cpu/float_ops.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/deploy/codes.h"
#include "core/util/error.h"

namespace r2q::backends::cpu {
namespace {

using deploy::activate;
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

// Cloned for AVX-512 and AVX2 (chosen at load time by what the CPU has): four and two times the double lanes
// of the baseline's SSE2. Every clone does the same double operations in the same order.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void run_float_loops(const Layer& l, const float* weights, const Shape& in, const Shape& out, const float* x,
                     float* y, int64_t n, std::vector<double>& scratch, bool nhwc_out) {
  const deploy::Conv& c = l.conv;
  const deploy::InputQuant quant = c.input_quant;
  const bool float_input = quant.kind == ActKind::None;
  const int64_t in_per_group = c.in_channels / c.groups, out_per_group = c.out_channels / c.groups;
  const int64_t k = c.k();
  const auto pixels = to_size(out.h * out.w);
  // Per image and group: the input windows as columns [k][pixel] in double (codes, when quantized: exact;
  // padding: 0, which adds nothing), then each output channel's sums over k in the reference's order (ci, ky,
  // kx) with every product exact in double. Tiles of 4 channels x 8 pixels keep their sums in registers; no
  // pixel's order of additions changes, so the results are the reference's floats.
  constexpr int kTileO = 4, kTileP = 8;
  scratch.resize(to_size(k) * pixels + kTileO * pixels);
  double* columns = scratch.data();
  double* sums = columns + to_size(k) * pixels;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t g = 0; g < c.groups; ++g) {
      for (int64_t ci = 0; ci < in_per_group; ++ci) {
        const float* plane = x + to_size((b * in.c + g * in_per_group + ci) * in.h * in.w);
        for (int64_t ky = 0; ky < c.kernel_h; ++ky)
          for (int64_t kx = 0; kx < c.kernel_w; ++kx) {
            double* row = columns + to_size((ci * c.kernel_h + ky) * c.kernel_w + kx) * pixels;
            for (int64_t oy = 0; oy < out.h; ++oy, row += out.w) {
              const int64_t iy = oy * c.stride_h - c.pad_h + ky;
              if (iy < 0 || iy >= in.h) {
                std::fill(row, row + out.w, 0.0);
                continue;
              }
              const float* src = plane + iy * in.w;
              for (int64_t ox = 0; ox < out.w; ++ox) {
                const int64_t ix = ox * c.stride_w - c.pad_w + kx;
                double v = 0;
                if (ix >= 0 && ix < in.w)
                  v = float_input ? static_cast<double>(src[ix])
                                  : static_cast<double>(deploy::quantize_activation(src[ix], quant));
                row[ox] = v;
              }
            }
          }
      }
      const int64_t o_end = (g + 1) * out_per_group;
      for (int64_t o0 = g * out_per_group; o0 < o_end; o0 += kTileO) {
        const int64_t count = std::min<int64_t>(kTileO, o_end - o0);
        const float* w = weights + to_size(o0 * k);
        std::size_t p0 = 0;
        if (count == kTileO)
          for (; p0 + kTileP <= pixels; p0 += kTileP) {
            double acc[kTileO][kTileP] = {};
            for (int64_t i = 0; i < k; ++i) {
              const double* column = columns + to_size(i) * pixels + p0;
              for (int r = 0; r < kTileO; ++r) {
                const double wr = static_cast<double>(w[to_size(r * k + i)]);
                for (int j = 0; j < kTileP; ++j) acc[r][j] += wr * column[j];
              }
            }
            for (int r = 0; r < kTileO; ++r)
              for (int j = 0; j < kTileP; ++j) sums[to_size(r) * pixels + p0 + to_size(j)] = acc[r][j];
          }
        for (int64_t r = 0; r < count; ++r)  // the pixels no tile took, or a last group of fewer channels
          for (std::size_t p = p0; p < pixels; ++p) {
            double sum = 0;
            for (int64_t i = 0; i < k; ++i)
              sum += static_cast<double>(w[to_size(r * k + i)]) * columns[to_size(i) * pixels + p];
            sums[to_size(r) * pixels + p] = sum;
          }
        for (int64_t r = 0; r < count; ++r) {
          const auto oc = to_size(o0 + r);
          const double* s = sums + to_size(r) * pixels;
          if (nhwc_out) {
            float* dst = y + to_size(b) * pixels * to_size(out.c) + oc;
            for (std::size_t p = 0; p < pixels; ++p)
              dst[p * to_size(out.c)] =
                  activate(static_cast<float>(s[p]) * c.mul[oc] + c.bias[oc], l.activation);
            continue;
          }
          float* dst = y + to_size(b * out.c + o0 + r) * pixels;
          for (std::size_t p = 0; p < pixels; ++p)
            dst[p] = activate(static_cast<float>(s[p]) * c.mul[oc] + c.bias[oc], l.activation);
        }
      }
    }
}

void run_integer_loops(const Layer& l, const Shape& in, const float* x, float* y, int64_t n,
                       deploy::IntBatch* acc) {
  const deploy::Conv& c = l.conv;
  deploy::IntBatch codes(n, in);
  for (std::size_t i = 0; i < codes.data.size(); ++i)
    codes.data[i] = deploy::quantize_activation(x[i], c.input_quant);
  deploy::IntBatch result = deploy::integer_accumulators(l, codes);
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
