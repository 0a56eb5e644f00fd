// One Conv2d / Linear layer of a deploy::Model as a oneDNN convolution or inner product primitive.
// Weights are prepared once; the primitive, reorders and buffers are planned per batch size and reused.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/deploy/model.h"
#include "core/deploy/reference.h"

namespace r2q::backends::cpu {

// How the layer's primitive computes.
enum class OnednnConvMode {
  // f32 on dequantised weights (code * weight_scale) and dequantised input (code * input scale), with
  // mul / (weight_scale * input_scale) and bias as binary post-ops and the activation as an eltwise post-op.
  Fp32,
  // u8 / s8 input codes x s8 weight codes -> s32 accumulators, no scales or zero points: the exact sums.
  Int8,
  // f32 on the codes themselves: exact (every partial sum is an integer below 2^24), the accumulators read
  // back as int32. For integer layers that int8 cannot take exactly on this CPU (see int8_refusal).
  ExactF32,
};

// Whether this CPU's int8 kernels sum u8 x s8 products in int32 without an int16 step (VNNI, AMX).
bool onednn_has_vnni();

// Empty when Int8 gives exact accumulators for integer layer `c` on this CPU, else why not. Without VNNI,
// oneDNN pairs products in int16 (vpmaddubsw), which saturates unless 2 * max|a| * max|w| <= 32767, and
// scales s8 x s8 weights by 1/2 (which rounds odd codes), so only u8 inputs within that bound qualify.
std::string int8_refusal(const deploy::Conv& c);
// Empty when ExactF32 is exact for `c` (K * max|w| * max|a| < 2^24), else why not.
std::string exact_f32_refusal(const deploy::Conv& c);

class OnednnConv {
 public:
  // `layer` must be a validated Conv2d / Linear with input shape `in` and output shape `out`; Int8 and
  // ExactF32 need integer weights and input. Keeps the weights in the mode's user form (OIHW f32 or s8).
  OnednnConv(const deploy::Layer& layer, const deploy::Shape& in, const deploy::Shape& out,
             OnednnConvMode mode);

  // Creates the primitive, reorders the weights to its layout (on `stream`) and sizes the buffers for batch
  // `n`; a no-op when the last plan was for `n`. Throws RunError when oneDNN declines.
  void plan(int64_t n, const dnnl::engine& engine, dnnl::stream& stream);
  // y (NCHW f32) from x (NCHW f32) for the planned batch size: quantizes the input as the reference does,
  // runs the primitive, and (int8, exact) applies the epilogue in float as the reference does. With `acc`,
  // also returns the int32 accumulators [n, O, OH, OW] (integer modes only).
  void run(const float* x, float* y, dnnl::stream& stream, deploy::IntBatch* acc);

  OnednnConvMode mode() const { return mode_; }
  // Bytes of weights held in user form: 4 per weight (f32 modes) or 1 (int8), plus one f32 multiplier per
  // output channel for int8 (the epilogue's mul).
  std::size_t weight_bytes() const;
  // The implementation oneDNN chose at the last plan, e.g. "brg:avx512_core_vnni" ("" before any plan).
  const std::string& implementation() const { return implementation_; }

 private:
  // A memory in the primitive's layout plus, when that layout is blocked, an NCHW staging memory and the
  // reorder between the two. Plain (strided) layouts are read and written in place through their strides.
  struct Port {
    dnnl::memory memory;
    bool plain = false;
    int64_t strides[4] = {0, 0, 0, 0};  // n, c, h, w (h, w: 0 for 2-D inner-product tensors)
    dnnl::memory staging;               // NCHW, only when !plain
    dnnl::reorder reorder;
  };
  void plan_primitive(int64_t n, const dnnl::engine& engine, dnnl::stream& stream);
  void plan_port(Port& port, int64_t n, const dnnl::memory::desc& wanted, dnnl::memory::data_type type,
                 const deploy::Shape& shape, const dnnl::engine& engine, bool to_staging);
  dnnl::memory::desc user_desc(int64_t n, const deploy::Shape& shape, dnnl::memory::data_type type) const;
  void fill_input(const float* x);
  void finish_output(float* y, deploy::IntBatch* acc, dnnl::stream& stream);

  deploy::Layer layer_;  // attributes, mul and bias; weight tensors moved out
  deploy::Shape in_, out_;
  OnednnConvMode mode_;
  bool linear_ = false;
  std::vector<float> weights_f32_;    // Fp32, ExactF32: [O, K]
  std::vector<int8_t> weights_s8_;    // Int8: [O, K]
  std::vector<float> factor_, bias_;  // Fp32 post-ops: mul / (weight_scale * input_scale), bias

  int64_t n_ = -1;
  dnnl::primitive primitive_;
  Port src_, dst_;
  dnnl::memory weights_, factor_memory_, bias_memory_;
  std::unordered_map<int, dnnl::memory> args_;  // the primitive's arguments, built by plan()
  std::string implementation_;
};

}  // namespace r2q::backends::cpu
