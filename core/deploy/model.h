// The deployment model: a torch-free graph IR of a trained network (BatchNorm folded, integer weights and
// activation codes). It is the contract between `r2q export` and every backend; docs/EXPORT_FORMAT.md.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace r2q::deploy {

// Every value is a float tensor [C, H, W] per batch element, stored NCHW with a free batch dimension. Flat
// vectors (after Flatten or GlobalAvgPool, the logits) are [F, 1, 1].
struct Shape {
  int64_t c = 0, h = 1, w = 1;
  int64_t size() const { return c * h * w; }
  bool operator==(const Shape&) const = default;
};

enum class Op {
  Normalize,            // (x - mean[c]) * inv_std[c], in float32 (as models/network.cpp)
  Conv2d,               // grouped 2-D convolution, zero padding, dilation 1, fused epilogue (see Conv)
  Linear,               // fully connected on a [F, 1, 1] value: a 1x1 convolution with groups 1
  Add,                  // elementwise sum of >= 2 values of one shape, in input order, then `activation`
  Concat,               // >= 2 values of one H x W along channels, in input order
  MaxPool,              // padding never wins (it is -infinity)
  AvgPool,              // torch's avg_pool2d rule, see Pool
  GlobalAvgPool,        // mean over H x W -> [C, 1, 1]
  Flatten,              // [C, H, W] -> [C * H * W, 1, 1]: the same bytes in NCHW
  ChannelPadSubsample,  // ResNet option-A shortcut: x[:, :, ::s, ::s] with zero channels before and after
};

enum class Activation { None, Relu, Relu6 };

// How a Conv2d / Linear layer turns its float input x into integer codes, in float32 arithmetic exactly as
// the LSQ quantizer (core/quant/methods/lsq.cpp, used by r2q and by every first/last layer) computes them:
//   v = x / scale (IEEE float32 division), v = clamp(v, min_code, max_code),
//   code = sign(v) * floor(|v| + 0.5f) (float32 addition: round half away from zero).
// The code stands for code * scale. Padding of a convolution is code 0 (value 0).
enum class ActKind {
  None,      // the layer sees the float input itself (the first layer)
  Unsigned,  // codes in [0, 2^bits - 1] (after a ReLU), bits 1-8
  Signed,    // codes in [-2^(bits-1), 2^(bits-1) - 1] (LSQ's signed range), bits 2-8
};

struct InputQuant {
  ActKind kind = ActKind::None;
  int bits = 0;
  float scale = 0;  // > 0 and finite
  // The clamp range, inside the kind's range (LSQ uses all of it; DoReFa's signed codes are symmetric).
  int32_t min_code = 0, max_code = 0;
  bool operator==(const InputQuant&) const = default;
};

// The weights of a Conv2d / Linear layer with O output channels, K = (in / groups) * kernel_h * kernel_w
// inputs per output channel, in OIHW order (k = (ci * kernel_h + ky) * kernel_w + kx).
enum class WeightFormat {
  Float,      // values [O, K], full precision
  OddPlanes,  // odd codes m in [-(2^bits - 1), 2^bits - 1], bits 1-8, as bit-planes (DESIGN §1.1)
  IntCodes,   // signed codes in [-2^(bits-1), 2^(bits-1) - 1], bits 2-8, one int8 each [O, K]
};

struct Weights {
  WeightFormat format = WeightFormat::Float;
  int bits = 0;  // 0 for Float
  std::vector<float> values;
  // OddPlanes: [O][bits][plane_words(K)]; bit (k % 64) of word (k / 64) of plane i of channel o is bit i of
  // u = (m + 2^bits - 1) / 2, so m = sum_i 2^i (2 bit_i - 1). Bits past K are zero.
  std::vector<uint64_t> planes;
  std::vector<int8_t> codes;
  std::vector<float> scale;  // quantized formats: [O], w = code * scale[o]; empty for Float
  bool operator==(const Weights&) const = default;
};

// A per-input-channel affine map of an integer layer's input codes (format version 2; the first layer, whose
// input normalisation is folded into it: docs/EXPORT_FORMAT.md, "Input affine"). The layer convolves
// x[c] = (code - offset[c]) * mul[c], zero-padded in x, as
//   acc[c][o]  = sum over the window's taps k of input channel c of W[o, k] * code[k]  (int32, exact)
//   wsum[c][o] = sum over the taps of channel c inside the image of W[o, k]          (an integer)
//   t[o] = (sum_c double(mul[c]) * acc[c][o]) - (sum_c double(mul[c]) * (double(offset[c]) * wsum[c][o]))
// in double, each operation rounded, the sums in channel order; the epilogue then takes float(t) for
// float(acc). Groups 1 only.
struct InputAffine {
  bool on = false;
  std::vector<float> offset, mul;  // [in_channels] each when on
  bool operator==(const InputAffine&) const = default;
};

// Conv2d and Linear. With W the weight (code or float) and A the input (code or float x):
//   acc[o] = sum_k W[o, k] * A[k]  (int32, exact, when weights and input are both integer; else float)
//   y = float(acc) * mul[o] + bias[o]  (float32), then the layer's activation.
// mul folds the weight scale, the input scale and BatchNorm: w_scale[o] * a_scale * gamma / sqrt(var + eps).
// With an input affine, float(t) stands for float(acc) (InputAffine).
struct Conv {
  int64_t in_channels = 0, out_channels = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, groups = 1;
  InputQuant input_quant;
  InputAffine input_affine;
  Weights weights;
  std::vector<float> mul, bias;  // [O]
  // Inputs per output channel.
  int64_t k() const { return groups > 0 ? in_channels / groups * kernel_h * kernel_w : 0; }
  bool integer() const { return input_quant.kind != ActKind::None && weights.format != WeightFormat::Float; }
  bool operator==(const Conv&) const = default;
};

// MaxPool and AvgPool, as torch's max_pool2d / avg_pool2d (pad <= kernel / 2; ceil_mode drops a last window
// that would start in the right/bottom padding). AvgPool divides by the window clipped to the padded input
// (count_include_pad) or to the input.
struct Pool {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;  // AvgPool only
  bool operator==(const Pool&) const = default;
};

// Output [pad_before + C + pad_after, ceil(H / stride), ceil(W / stride)].
struct PadSubsample {
  int64_t stride = 1, pad_before = 0, pad_after = 0;
  bool operator==(const PadSubsample&) const = default;
};

struct NormalizeParams {
  std::vector<float> mean, inv_std;  // [C]; inv_std is float32(1 / std), multiplied as the training code does
  bool operator==(const NormalizeParams&) const = default;
};

// One node. Only the parameters of its op are meaningful; the others keep their defaults.
struct Layer {
  Op op = Op::Conv2d;
  std::string name;                          // unique, non-empty (errors and sections name layers by it)
  std::vector<int> inputs;                   // value ids, each defined by an earlier layer or the model input
  int output = -1;                           // the value id this layer defines (once in the model)
  Activation activation = Activation::None;  // Conv2d, Linear and Add only
  NormalizeParams normalize;
  Conv conv;  // Conv2d, Linear
  Pool pool;  // MaxPool, AvgPool
  PadSubsample shortcut;
  bool operator==(const Layer&) const = default;
};

// The model input is value 0.
inline constexpr int kInputValue = 0;

struct Model {
  Shape input;                // [C, H, W] of value 0: [0, 1] pixels
  std::vector<Layer> layers;  // in execution order
  int output = -1;            // the value id of the logits, [classes, 1, 1]
  // Free-form, filled by the exporter: run key, run config, r2q version, dataset, classes, ...
  nlohmann::json metadata = nlohmann::json::object();
  bool operator==(const Model&) const = default;
};

std::string_view to_string(Op op);
std::string_view to_string(Activation activation);
std::string_view to_string(ActKind kind);
std::string_view to_string(WeightFormat format);
// Parsing of the names above; an unknown name throws InputError with `where` and the known names.
Op parse_op(std::string_view name, const std::string& where);
Activation parse_activation(std::string_view name, const std::string& where);
ActKind parse_act_kind(std::string_view name, const std::string& where);
WeightFormat parse_weight_format(std::string_view name, const std::string& where);

// Words per bit-plane of K bits: ceil(K / 64).
inline int64_t plane_words(int64_t k) {
  return (k + 63) / 64;
}

// "layer 3 'stage1.0.conv1'", for messages.
std::string describe_layer(const Model& model, std::size_t index);

// Checks everything that makes a model runnable: the graph (each value defined once before use, known arity,
// the output), shapes against attributes, bit-widths, code ranges, tensor sizes, finite scales, and that no
// integer accumulator can overflow int32. Shared by the writer and the loader; throws InputError naming
// `source` (the file), the layer and the field. Returns the shape of every value.
std::map<int, Shape> validate(const Model& model, const std::string& source = "model");

}  // namespace r2q::deploy
