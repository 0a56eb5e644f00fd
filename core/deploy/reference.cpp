// The reference interpreter: one plain loop nest per op, no cleverness, so that it is obviously right.
#include "core/deploy/reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/deploy/input_affine.h"
#include "core/util/error.h"

namespace r2q::deploy {
namespace {

Shape conv_output_shape(const Conv& c, const Shape& in) {
  return {c.out_channels, (in.h + 2 * c.pad_h - c.kernel_h) / c.stride_h + 1,
          (in.w + 2 * c.pad_w - c.kernel_w) / c.stride_w + 1};
}

// acc[b, o, oy, ox] = sum over the window of weight[o, k] * x[b, c, iy, ix] with zero padding, in Acc (int64
// for codes x codes, double otherwise).
template <typename Acc, typename W, typename X>
Batch<Acc> convolve(const Conv& c, const std::vector<W>& weight, const Batch<X>& x) {
  Batch<Acc> out(x.n, conv_output_shape(c, x.shape));
  const int64_t in_per_group = c.in_channels / c.groups, out_per_group = c.out_channels / c.groups;
  for (int64_t b = 0; b < x.n; ++b)
    for (int64_t o = 0; o < c.out_channels; ++o) {
      const int64_t group = o / out_per_group;
      for (int64_t oy = 0; oy < out.shape.h; ++oy)
        for (int64_t ox = 0; ox < out.shape.w; ++ox) {
          Acc acc = 0;
          for (int64_t ci = 0; ci < in_per_group; ++ci)
            for (int64_t ky = 0; ky < c.kernel_h; ++ky)
              for (int64_t kx = 0; kx < c.kernel_w; ++kx) {
                const int64_t iy = oy * c.stride_h - c.pad_h + ky, ix = ox * c.stride_w - c.pad_w + kx;
                if (iy < 0 || iy >= x.shape.h || ix < 0 || ix >= x.shape.w) continue;  // padding: 0
                const int64_t k = (ci * c.kernel_h + ky) * c.kernel_w + kx;
                acc += static_cast<Acc>(weight[static_cast<std::size_t>(o * c.k() + k)]) *
                       static_cast<Acc>(x.at(b, group * in_per_group + ci, iy, ix));
              }
          out.at(b, o, oy, ox) = acc;
        }
    }
  return out;
}

// y = float(acc) * mul[o] + bias[o], then the activation.
template <typename Acc>
FloatBatch epilogue(const Batch<Acc>& acc, const Conv& c, Activation a) {
  FloatBatch y(acc.n, acc.shape);
  for (int64_t b = 0; b < acc.n; ++b)
    for (int64_t o = 0; o < acc.shape.c; ++o)
      for (int64_t i = 0; i < acc.shape.h * acc.shape.w; ++i) {
        const std::size_t at =
            static_cast<std::size_t>((b * acc.shape.c + o) * acc.shape.h * acc.shape.w + i);
        const float product = static_cast<float>(acc.data[at]) * c.mul[static_cast<std::size_t>(o)];
        y.data[at] = activate(product + c.bias[static_cast<std::size_t>(o)], a);
      }
  return y;
}

}  // namespace

FloatBatch input_affine_epilogue(const IntBatch& acc, const Conv& c, const Shape& in, Activation a) {
  const AffineOffsets offsets = affine_offsets(c, in);
  const int64_t o_count = c.out_channels;
  FloatBatch y(acc.n, {o_count, acc.shape.h, acc.shape.w});
  for (int64_t b = 0; b < acc.n; ++b)
    for (int64_t o = 0; o < o_count; ++o)
      for (int64_t oy = 0; oy < acc.shape.h; ++oy)
        for (int64_t ox = 0; ox < acc.shape.w; ++ox) {
          double t = 0;
          for (int64_t ci = 0; ci < c.in_channels; ++ci)
            t += static_cast<double>(c.input_affine.mul[static_cast<std::size_t>(ci)]) *
                 static_cast<double>(acc.at(b, ci * o_count + o, oy, ox));
          t -= offsets.at(oy, ox, o);
          const float product = static_cast<float>(t) * c.mul[static_cast<std::size_t>(o)];
          y.at(b, o, oy, ox) = activate(product + c.bias[static_cast<std::size_t>(o)], a);
        }
  return y;
}

namespace {

FloatBatch run_conv(const Layer& l, const FloatBatch& x, std::size_t index, ReferenceResult& result,
                    const ReferenceOptions& options) {
  const Conv& c = l.conv;
  const bool float_weights = c.weights.format == WeightFormat::Float;
  if (c.input_affine.on) {
    IntBatch acc = integer_accumulators(l, quantize_batch(x, c.input_quant));
    FloatBatch y = input_affine_epilogue(acc, c, x.shape, l.activation);
    if (options.keep_accumulators) result.accumulators[index] = std::move(acc);
    return y;
  }
  if (c.integer()) {
    IntBatch acc = integer_accumulators(l, quantize_batch(x, c.input_quant));
    FloatBatch y = epilogue(acc, c, l.activation);
    if (options.keep_accumulators) result.accumulators[index] = std::move(acc);
    return y;
  }
  // A float side: the weights or the input (the first layer sees normalised pixels).
  if (c.input_quant.kind != ActKind::None) {
    IntBatch codes = quantize_batch(x, c.input_quant);
    return epilogue(convolve<double>(c, c.weights.values, codes), c, l.activation);
  }
  if (float_weights) return epilogue(convolve<double>(c, c.weights.values, x), c, l.activation);
  return epilogue(convolve<double>(c, weight_codes(c), x), c, l.activation);
}

FloatBatch run_pool(const Layer& l, const FloatBatch& x, const Shape& out_shape) {
  const Pool& p = l.pool;
  FloatBatch y(x.n, out_shape);
  for (int64_t b = 0; b < x.n; ++b)
    for (int64_t c = 0; c < x.shape.c; ++c)
      for (int64_t oy = 0; oy < out_shape.h; ++oy)
        for (int64_t ox = 0; ox < out_shape.w; ++ox) {
          // The window in padded coordinates, clipped to the padded input (torch's avg_pool2d divisor).
          const int64_t y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
          const int64_t y1 = std::min(y0 + p.kernel_h, x.shape.h + p.pad_h);
          const int64_t x1 = std::min(x0 + p.kernel_w, x.shape.w + p.pad_w);
          const int64_t padded_count = (y1 - y0) * (x1 - x0);
          const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min(y1, x.shape.h);
          const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min(x1, x.shape.w);
          if (l.op == Op::MaxPool) {
            float m = -std::numeric_limits<float>::infinity();
            for (int64_t iy = ya; iy < yb; ++iy)
              for (int64_t ix = xa; ix < xb; ++ix) m = std::max(m, x.at(b, c, iy, ix));
            y.at(b, c, oy, ox) = m;
          } else {
            double sum = 0;
            for (int64_t iy = ya; iy < yb; ++iy)
              for (int64_t ix = xa; ix < xb; ++ix) sum += x.at(b, c, iy, ix);
            const int64_t count = p.count_include_pad ? padded_count : (yb - ya) * (xb - xa);
            y.at(b, c, oy, ox) = static_cast<float>(sum / static_cast<double>(count));
          }
        }
  return y;
}

FloatBatch run_layer(const Layer& l, const std::vector<const FloatBatch*>& in, const Shape& out_shape,
                     std::size_t index, ReferenceResult& result, const ReferenceOptions& options) {
  const FloatBatch& x = *in[0];
  FloatBatch y(x.n, out_shape);
  switch (l.op) {
    case Op::Normalize:
      for (int64_t b = 0; b < x.n; ++b)
        for (int64_t c = 0; c < x.shape.c; ++c)
          for (int64_t i = 0; i < x.shape.h; ++i)
            for (int64_t j = 0; j < x.shape.w; ++j) {
              const auto ch = static_cast<std::size_t>(c);
              y.at(b, c, i, j) = (x.at(b, c, i, j) - l.normalize.mean[ch]) * l.normalize.inv_std[ch];
            }
      return y;
    case Op::Conv2d:
    case Op::Linear:
      return run_conv(l, x, index, result, options);
    case Op::Add:
      for (std::size_t e = 0; e < y.data.size(); ++e) {
        float sum = in[0]->data[e];
        for (std::size_t i = 1; i < in.size(); ++i) sum += in[i]->data[e];
        y.data[e] = activate(sum, l.activation);
      }
      return y;
    case Op::Concat:
      for (int64_t b = 0; b < x.n; ++b) {
        int64_t base = 0;
        for (const FloatBatch* part : in) {
          for (int64_t c = 0; c < part->shape.c; ++c)
            for (int64_t i = 0; i < part->shape.h; ++i)
              for (int64_t j = 0; j < part->shape.w; ++j) y.at(b, base + c, i, j) = part->at(b, c, i, j);
          base += part->shape.c;
        }
      }
      return y;
    case Op::MaxPool:
    case Op::AvgPool:
      return run_pool(l, x, out_shape);
    case Op::GlobalAvgPool:
      for (int64_t b = 0; b < x.n; ++b)
        for (int64_t c = 0; c < x.shape.c; ++c) {
          double sum = 0;
          for (int64_t i = 0; i < x.shape.h; ++i)
            for (int64_t j = 0; j < x.shape.w; ++j) sum += x.at(b, c, i, j);
          y.at(b, c, 0, 0) = static_cast<float>(sum / static_cast<double>(x.shape.h * x.shape.w));
        }
      return y;
    case Op::Flatten:
      y.data = x.data;  // NCHW: [C, H, W] and [C * H * W, 1, 1] are the same bytes
      return y;
    case Op::ChannelPadSubsample:
      // y is zero-filled: the padded channels stay 0.
      for (int64_t b = 0; b < x.n; ++b)
        for (int64_t c = 0; c < x.shape.c; ++c)
          for (int64_t i = 0; i < out_shape.h; ++i)
            for (int64_t j = 0; j < out_shape.w; ++j)
              y.at(b, l.shortcut.pad_before + c, i, j) =
                  x.at(b, c, i * l.shortcut.stride, j * l.shortcut.stride);
      return y;
  }
  throw InputError(l.name + ": unknown op");
}

}  // namespace

IntBatch quantize_batch(const FloatBatch& x, const InputQuant& q) {
  IntBatch codes;
  codes.n = x.n;
  codes.shape = x.shape;
  codes.data = quantize_activations(x.data, q);
  return codes;
}

IntBatch integer_accumulators(const Layer& layer, const IntBatch& codes) {
  const Conv& c = layer.conv;
  if ((layer.op != Op::Conv2d && layer.op != Op::Linear) || c.weights.format == WeightFormat::Float)
    throw InputError("layer '" + layer.name +
                     "': integer accumulators need a conv/linear layer with integer weights");
  if (codes.shape.c != c.in_channels || codes.shape.h + 2 * c.pad_h < c.kernel_h ||
      codes.shape.w + 2 * c.pad_w < c.kernel_w ||
      static_cast<int64_t>(codes.data.size()) != codes.n * codes.shape.size())
    throw InputError("layer '" + layer.name + "': input codes of shape [" + std::to_string(codes.shape.c) +
                     ", " + std::to_string(codes.shape.h) + ", " + std::to_string(codes.shape.w) +
                     "] do not fit the layer");
  Batch<int64_t> wide;
  if (c.input_affine.on) {
    // Per input channel: channel ci's window sums of every output channel at ci * O + o.
    Conv one = c;
    one.in_channels = 1;
    const std::vector<int32_t> w = weight_codes(c);
    const int64_t taps = c.kernel_h * c.kernel_w, plane = codes.shape.h * codes.shape.w;
    for (int64_t ci = 0; ci < c.in_channels; ++ci) {
      std::vector<int32_t> w_c;
      for (int64_t o = 0; o < c.out_channels; ++o)
        for (int64_t t = 0; t < taps; ++t)
          w_c.push_back(w[static_cast<std::size_t>(o * c.k() + ci * taps + t)]);
      Batch<int32_t> x_c(codes.n, {1, codes.shape.h, codes.shape.w});
      for (int64_t b = 0; b < codes.n; ++b)
        std::copy_n(codes.data.begin() + static_cast<std::ptrdiff_t>((b * c.in_channels + ci) * plane), plane,
                    x_c.data.begin() + static_cast<std::ptrdiff_t>(b * plane));
      const Batch<int64_t> part = convolve<int64_t>(one, w_c, x_c);
      if (ci == 0)
        wide = Batch<int64_t>(codes.n, {c.in_channels * c.out_channels, part.shape.h, part.shape.w});
      const int64_t out_plane = c.out_channels * part.shape.h * part.shape.w;
      for (int64_t b = 0; b < codes.n; ++b)
        std::copy_n(part.data.begin() + static_cast<std::ptrdiff_t>(b * out_plane), out_plane,
                    wide.data.begin() + static_cast<std::ptrdiff_t>((b * c.in_channels + ci) * out_plane));
    }
  } else {
    wide = convolve<int64_t>(c, weight_codes(c), codes);
  }
  IntBatch acc(wide.n, wide.shape);
  for (std::size_t i = 0; i < wide.data.size(); ++i) {
    if (wide.data[i] < std::numeric_limits<int32_t>::min() ||
        wide.data[i] > std::numeric_limits<int32_t>::max())
      throw InputError("layer '" + layer.name + "': accumulator " + std::to_string(wide.data[i]) +
                       " overflows int32 (input codes outside the quantizer's range?)");
    acc.data[i] = static_cast<int32_t>(wide.data[i]);
  }
  return acc;
}

ReferenceResult run_reference(const Model& model, const FloatBatch& input, const ReferenceOptions& options) {
  const std::map<int, Shape> shapes = validate(model);
  if (!(input.shape == model.input) || input.n < 0 ||
      static_cast<int64_t>(input.data.size()) != input.n * input.shape.size())
    throw InputError("reference: input of shape [" + std::to_string(input.shape.c) + ", " +
                     std::to_string(input.shape.h) + ", " + std::to_string(input.shape.w) + "] x " +
                     std::to_string(input.n) + " (" + std::to_string(input.data.size()) +
                     " values), the model takes [" + std::to_string(model.input.c) + ", " +
                     std::to_string(model.input.h) + ", " + std::to_string(model.input.w) + "]");
  for (std::size_t i = 0; i < input.data.size(); ++i)
    if (!std::isfinite(input.data[i]))
      throw InputError("reference: input element " + std::to_string(i) + " is not finite");
  ReferenceResult result;
  std::map<int, FloatBatch> values;
  values[kInputValue] = input;
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& l = model.layers[i];
    std::vector<const FloatBatch*> in;
    for (int v : l.inputs) in.push_back(&values.at(v));
    values[l.output] = run_layer(l, in, shapes.at(l.output), i, result, options);
  }
  result.logits = values.at(model.output);
  if (options.keep_values) result.values = std::move(values);
  return result;
}

}  // namespace r2q::deploy
