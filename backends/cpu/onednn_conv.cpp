// One Conv2d / Linear layer as a oneDNN convolution or inner product, planned per batch size.
// The input is quantized as the reference does and integer modes apply the reference's float epilogue.
#include "backends/cpu/onednn_conv.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "backends/cpu/float_ops.h"
#include "core/deploy/codes.h"
#include "core/util/error.h"

namespace r2q::backends::cpu {
namespace {

using deploy::activate;
using deploy::Activation;
using deploy::ActKind;
using deploy::WeightFormat;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

int64_t max_abs_code(const deploy::InputQuant& q) {
  return std::max<int64_t>(std::abs(int64_t{q.min_code}), std::abs(int64_t{q.max_code}));
}

}  // namespace

bool onednn_has_vnni() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
    case dnnl::cpu_isa::avx2_vnni:
      return true;
    default:
      return false;
  }
}

std::string int8_refusal(const deploy::Conv& c) {
  if (!c.integer()) return "not an integer layer";
  if (c.input_affine.on) return "an input affine (per-channel sums)";
  if (c.weights.format == WeightFormat::OddPlanes && c.weights.bits > 7)
    return std::to_string(c.weights.bits) + "-bit odd codes do not fit s8";
  if (onednn_has_vnni()) return "";
  if (c.input_quant.kind == ActKind::Signed)
    return "s8 input without VNNI (oneDNN halves the s8 weights, which rounds odd codes)";
  const int64_t pair = 2 * max_abs_code(c.input_quant) * deploy::max_abs_weight_code(c.weights);
  if (pair > std::numeric_limits<int16_t>::max())
    return "a pair of products (up to " + std::to_string(pair) + ") could saturate int16 without VNNI";
  return "";
}

std::string exact_f32_refusal(const deploy::Conv& c) {
  if (!c.integer()) return "not an integer layer";
  if (c.input_affine.on) return "an input affine (per-channel sums)";
  const int64_t bound = c.k() * max_abs_code(c.input_quant) * deploy::max_abs_weight_code(c.weights);
  if (bound >= (int64_t{1} << 24))
    return "sums up to " + std::to_string(bound) + " are not exact in f32 (2^24)";
  return "";
}

OnednnConv::OnednnConv(const deploy::Layer& layer, const deploy::Shape& in, const deploy::Shape& out,
                       OnednnConvMode mode)
    : layer_(layer), in_(in), out_(out), mode_(mode), linear_(layer.op == deploy::Op::Linear) {
  deploy::Conv& c = layer_.conv;
  if (mode != OnednnConvMode::Fp32 && !c.integer())
    throw InputError("onednn: layer '" + layer.name + "' is not integer");
  const bool float_weights = c.weights.format == WeightFormat::Float;
  std::vector<int32_t> codes;
  if (!float_weights) codes = deploy::weight_codes(c);
  const int64_t k = c.k();
  switch (mode) {
    case OnednnConvMode::Fp32: {
      // Dequantised input: x itself, code * scale, or with an input affine (code - offset[c]) * mul[c].
      const float a_scale =
          c.input_quant.kind == ActKind::None || c.input_affine.on ? 1.0f : c.input_quant.scale;
      if (float_weights) weights_f32_ = c.weights.values;
      for (int64_t o = 0; o < c.out_channels; ++o) {
        const float w_scale = float_weights ? 1.0f : c.weights.scale[to_size(o)];
        if (!float_weights)
          for (int64_t j = 0; j < k; ++j)
            weights_f32_.push_back(static_cast<float>(codes[to_size(o * k + j)]) * w_scale);
        factor_.push_back(c.mul[to_size(o)] / (w_scale * a_scale));
      }
      bias_ = c.bias;
      break;
    }
    case OnednnConvMode::Int8:
      weights_s8_.assign(codes.begin(), codes.end());
      break;
    case OnednnConvMode::ExactF32:
      weights_f32_.assign(codes.begin(), codes.end());
      break;
  }
  c.weights.values.clear();
  c.weights.planes.clear();
  c.weights.codes.clear();
}

std::size_t OnednnConv::weight_bytes() const {
  if (mode_ == OnednnConvMode::Int8) return weights_s8_.size() + layer_.conv.mul.size() * sizeof(float);
  return weights_f32_.size() * sizeof(float);
}

dnnl::memory::desc OnednnConv::user_desc(int64_t n, const deploy::Shape& shape, dt type) const {
  if (linear_) return {{n, shape.c}, type, tag::nc};
  return {{n, shape.c, shape.h, shape.w}, type, tag::nchw};
}

void OnednnConv::plan_port(Port& port, int64_t n, const dnnl::memory::desc& wanted, dt type,
                           const deploy::Shape& shape, const dnnl::engine& engine, bool to_staging) {
  port = Port{};
  port.memory = dnnl::memory(wanted, engine);
  const dnnl_memory_desc_t& d = wanted.data;
  port.plain = d.format_kind == dnnl_blocked && d.format_desc.blocking.inner_nblks == 0 && d.offset0 == 0 &&
               d.extra.flags == 0;
  if (port.plain) {
    for (int i = 0; i < d.ndims && i < 4; ++i) port.strides[i] = d.format_desc.blocking.strides[i];
    return;
  }
  port.staging = dnnl::memory(user_desc(n, shape, type), engine);
  port.reorder =
      to_staging ? dnnl::reorder(port.memory, port.staging) : dnnl::reorder(port.staging, port.memory);
}

void OnednnConv::plan(int64_t n, const dnnl::engine& engine, dnnl::stream& stream) {
  if (n == n_) return;
  n_ = -1;  // until this plan is complete
  try {
    plan_primitive(n, engine, stream);
  } catch (const dnnl::error& e) {
    throw RunError("onednn: layer '" + layer_.name + "': oneDNN could not plan batch " + std::to_string(n) +
                   ": " + e.what());
  }
  n_ = n;
}

void OnednnConv::plan_primitive(int64_t n, const dnnl::engine& engine, dnnl::stream& stream) {
  const deploy::Conv& c = layer_.conv;
  const bool int8 = mode_ == OnednnConvMode::Int8;
  const dt src_type = !int8 ? dt::f32 : c.input_quant.kind == ActKind::Signed ? dt::s8 : dt::u8;
  const dt weight_type = int8 ? dt::s8 : dt::f32;
  const dt dst_type = int8 ? dt::s32 : dt::f32;
  const int64_t o = c.out_channels, g = c.groups;

  // The user weights, [O, K] in OIHW order: oi for inner product, oihw or goihw for convolution.
  dnnl::memory::desc user_weights;
  dnnl::memory::desc src_any, weights_any, dst_any;
  if (linear_) {
    user_weights = {{o, c.in_channels}, weight_type, tag::oi};
    src_any = {{n, in_.c}, src_type, tag::any};
    weights_any = {{o, c.in_channels}, weight_type, tag::any};
    dst_any = {{n, o}, dst_type, tag::any};
  } else {
    const dnnl::memory::dims dims =
        g == 1 ? dnnl::memory::dims{o, c.in_channels, c.kernel_h, c.kernel_w}
               : dnnl::memory::dims{g, o / g, c.in_channels / g, c.kernel_h, c.kernel_w};
    user_weights = {dims, weight_type, g == 1 ? tag::oihw : tag::goihw};
    src_any = {{n, in_.c, in_.h, in_.w}, src_type, tag::any};
    weights_any = {dims, weight_type, tag::any};
    dst_any = {{n, o, out_.h, out_.w}, dst_type, tag::any};
  }

  // Fp32: y = activation(conv * factor + bias), all fused.
  dnnl::primitive_attr attr;
  if (mode_ == OnednnConvMode::Fp32) {
    const dnnl::memory::desc channel = linear_ ? dnnl::memory::desc({1, o}, dt::f32, tag::nc)
                                               : dnnl::memory::desc({1, o, 1, 1}, dt::f32, tag::nchw);
    dnnl::post_ops ops;
    ops.append_binary(dnnl::algorithm::binary_mul, channel);
    ops.append_binary(dnnl::algorithm::binary_add, channel);
    if (layer_.activation == Activation::Relu)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    if (layer_.activation == Activation::Relu6)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);
    attr.set_post_ops(ops);
    factor_memory_ = dnnl::memory(channel, engine, factor_.data());
    bias_memory_ = dnnl::memory(channel, engine, bias_.data());
  }

  dnnl::memory::desc src_md, weights_md, dst_md;
  if (linear_) {
    const dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference, src_any, weights_any,
                                                 dst_any);
    const dnnl::inner_product_forward::primitive_desc pd(desc, attr, engine);
    primitive_ = dnnl::inner_product_forward(pd);
    src_md = pd.src_desc();
    weights_md = pd.weights_desc();
    dst_md = pd.dst_desc();
    implementation_ = pd.impl_info_str();
  } else {
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_any, weights_any,
        dst_any, {c.stride_h, c.stride_w}, {c.pad_h, c.pad_w}, {c.pad_h, c.pad_w});
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
    primitive_ = dnnl::convolution_forward(pd);
    src_md = pd.src_desc();
    weights_md = pd.weights_desc();
    dst_md = pd.dst_desc();
    implementation_ = pd.impl_info_str();
  }

  // The weights, once per plan: a reorder from the user form (it also computes oneDNN's s8 compensation).
  void* user_data = int8 ? static_cast<void*>(weights_s8_.data()) : static_cast<void*>(weights_f32_.data());
  dnnl::memory user(user_weights, engine, user_data);
  weights_ = dnnl::memory(weights_md, engine);
  dnnl::reorder(user, weights_).execute(stream, user, weights_);
  stream.wait();

  plan_port(src_, n, src_md, src_type, in_, engine, false);
  plan_port(dst_, n, dst_md, dst_type, out_, engine, true);
  args_ = {{DNNL_ARG_SRC, src_.memory}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, dst_.memory}};
  if (mode_ == OnednnConvMode::Fp32) {
    args_.insert({DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, factor_memory_});
    args_.insert({DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, bias_memory_});
  }
}

void OnednnConv::fill_input(const float* x) {
  const deploy::InputQuant& q = layer_.conv.input_quant;
  const deploy::InputAffine& affine = layer_.conv.input_affine;
  const bool plain = src_.plain;
  void* base = plain ? src_.memory.get_data_handle() : src_.staging.get_data_handle();
  const int64_t c_count = in_.c, plane = in_.h * in_.w;
  // Offsets in the destination layout: the primitive's strides, or NCHW for the staging buffer.
  const int64_t sn = plain ? src_.strides[0] : c_count * plane, sc = plain ? src_.strides[1] : plane;
  const int64_t sh = plain ? src_.strides[2] : in_.w, sw = plain ? src_.strides[3] : 1;
  std::size_t i = 0;
  for (int64_t b = 0; b < n_; ++b)
    for (int64_t ch = 0; ch < c_count; ++ch)
      for (int64_t yy = 0; yy < in_.h; ++yy)
        for (int64_t xx = 0; xx < in_.w; ++xx, ++i) {
          const std::size_t at = to_size(b * sn + ch * sc + yy * sh + xx * sw);
          switch (mode_) {
            case OnednnConvMode::Fp32:
              if (affine.on)
                static_cast<float*>(base)[at] =
                    (static_cast<float>(deploy::quantize_activation(x[i], q)) - affine.offset[to_size(ch)]) *
                    affine.mul[to_size(ch)];
              else
                static_cast<float*>(base)[at] =
                    q.kind == ActKind::None
                        ? x[i]
                        : static_cast<float>(deploy::quantize_activation(x[i], q)) * q.scale;
              break;
            case OnednnConvMode::ExactF32:
              static_cast<float*>(base)[at] = static_cast<float>(deploy::quantize_activation(x[i], q));
              break;
            case OnednnConvMode::Int8:
              if (q.kind == ActKind::Signed)
                static_cast<int8_t*>(base)[at] = static_cast<int8_t>(deploy::quantize_activation(x[i], q));
              else
                static_cast<uint8_t*>(base)[at] = static_cast<uint8_t>(deploy::quantize_activation(x[i], q));
              break;
          }
        }
}

void OnednnConv::run(const float* x, float* y, dnnl::stream& stream, deploy::IntBatch* acc) {
  fill_input(x);
  if (!src_.plain) src_.reorder.execute(stream, src_.staging, src_.memory);
  primitive_.execute(stream, args_);
  if (!dst_.plain) dst_.reorder.execute(stream, dst_.memory, dst_.staging);
  stream.wait();
  finish_output(y, acc, stream);
}

void OnednnConv::finish_output(float* y, deploy::IntBatch* acc, dnnl::stream&) {
  const deploy::Conv& c = layer_.conv;
  const bool plain = dst_.plain;
  const void* base = plain ? dst_.memory.get_data_handle() : dst_.staging.get_data_handle();
  const int64_t o_count = out_.c, plane = out_.h * out_.w;
  const int64_t sn = plain ? dst_.strides[0] : o_count * plane, sc = plain ? dst_.strides[1] : plane;
  const int64_t sh = plain ? dst_.strides[2] : out_.w, sw = plain ? dst_.strides[3] : 1;
  if (acc != nullptr) *acc = deploy::IntBatch(n_, out_);
  std::size_t i = 0;
  for (int64_t b = 0; b < n_; ++b)
    for (int64_t o = 0; o < o_count; ++o) {
      const float mul = c.mul[to_size(o)], bias = c.bias[to_size(o)];
      for (int64_t yy = 0; yy < out_.h; ++yy)
        for (int64_t xx = 0; xx < out_.w; ++xx, ++i) {
          const std::size_t at = to_size(b * sn + o * sc + yy * sh + xx * sw);
          if (mode_ == OnednnConvMode::Fp32) {
            y[i] = static_cast<const float*>(base)[at];  // the post-ops did the epilogue
            continue;
          }
          // Integer modes: the exact sum, then the reference's epilogue in float32.
          const int32_t a = mode_ == OnednnConvMode::Int8
                                ? static_cast<const int32_t*>(base)[at]
                                : static_cast<int32_t>(static_cast<const float*>(base)[at]);
          if (acc != nullptr) acc->data[i] = a;
          y[i] = activate(static_cast<float>(a) * mul + bias, layer_.activation);
        }
    }
}

}  // namespace r2q::backends::cpu
