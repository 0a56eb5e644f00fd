// The shift-add engine: a plan of one step per layer over reused activation buffers. Kernel layers quantize
// their NCHW float input to NHWC u8 codes, run shift_add_conv with the fused float epilogue and transpose
// back; every other layer runs plain loops written in the reference interpreter's order and precision, so
// that the float values feeding the next layer's quantizer are bit-identical to the reference's, and so are
// the next layer's codes and accumulators.
#include "backends/cpu/shift_add_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/shift_add_conv.h"
#include "core/deploy/codes.h"
#include "core/deploy/reference.h"
#include "core/util/error.h"

namespace r2q::backends::cpu {
namespace {

using deploy::Activation;
using deploy::ActKind;
using deploy::FloatBatch;
using deploy::IntBatch;
using deploy::Layer;
using deploy::Op;
using deploy::Shape;
using deploy::WeightFormat;

enum class StepKind {
  kNormalize,
  kShiftAdd,      // odd bit-plane weights x unsigned codes: the kernels
  kIntegerLoops,  // other integer layers (int8 codes, signed input): deploy::integer_accumulators
  kFloatLoops,    // a float side (input or weights): double sums as the reference
  kAdd,
  kConcat,
  kPool,  // MaxPool, AvgPool
  kGlobalAvgPool,
  kFlatten,
  kPadSubsample,
};

// Where a value lives during a run: a buffer slot, or the caller's input (slot -1).
struct Operand {
  int slot = -1;
  Shape shape;
};

struct Step {
  StepKind kind = StepKind::kFlatten;
  std::size_t index = 0;  // of the layer in the model
  // The layer's attributes; its weight tensors only where the step computes from them (kIntegerLoops).
  Layer layer;
  std::vector<Operand> inputs;
  Operand output;
  std::string path;  // for layer_paths()
  // kShiftAdd
  ConvShape conv_shape;
  PackedConvWeights packed;
  Epilogue epilogue;
  // kFloatLoops: the weights [O, K] as float (integer codes are exact in float)
  std::vector<float> weights;
};

std::size_t to_size(int64_t v) {
  return static_cast<std::size_t>(v);
}

// As the reference interpreter: std::max / std::min keep its handling of -0.0f.
float activate(float y, Activation a) {
  switch (a) {
    case Activation::Relu:
      return std::max(y, 0.0f);
    case Activation::Relu6:
      return std::min(std::max(y, 0.0f), 6.0f);
    case Activation::None:
      break;
  }
  return y;
}

bool fits_int(int64_t v) {
  return v >= 0 && v <= std::numeric_limits<int>::max();
}

// Empty when the shift-add kernel can run this integer conv/linear layer, else why not (for layer_paths).
std::string kernel_refusal(const deploy::Conv& c, const Shape& in) {
  if (c.weights.format != WeightFormat::OddPlanes) return "int8 weight codes, not odd bit-planes";
  if (c.input_quant.kind != ActKind::Unsigned) return "signed input codes";
  if (c.weights.bits > 4) return std::to_string(c.weights.bits) + "-bit weights (the kernel takes 1-4)";
  // The kernel's own bound uses the full code range (2^bits - 1), which can be stricter than validate()'s
  // bound from the quantizer's clamp range: a layer between the two runs through the loops instead of
  // failing.
  const int64_t bound =
      c.k() * ((int64_t{1} << c.weights.bits) - 1) * ((int64_t{1} << c.input_quant.bits) - 1);
  if (bound > std::numeric_limits<int32_t>::max())
    return "a patch of " + std::to_string(c.k()) + " values could overflow the kernel's int32 accumulator";
  for (int64_t v : {in.c, in.h, in.w, c.out_channels, c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.pad_h,
                    c.pad_w, c.groups})
    if (!fits_int(v)) return "a dimension does not fit the kernel's int";
  return "";
}

std::string bits_label(const deploy::Conv& c) {
  return "W" + std::to_string(c.weights.bits) + "A" + std::to_string(c.input_quant.bits);
}

class ShiftAddPlan final : public Plan {
 public:
  ShiftAddPlan(const deploy::Model& model, const PlanOptions& options);

  const FloatBatch& run(const FloatBatch& input) override {
    execute(input, nullptr);
    return logits_;
  }
  RunResult run_with_accumulators(const FloatBatch& input) override {
    RunResult result;
    execute(input, &result.accumulators);
    result.logits = logits_;
    return result;
  }
  std::string engine() const override { return "shift-add (" + std::string(isa_name(isa_)) + ")"; }
  std::size_t weight_bytes() const override { return weight_bytes_; }
  std::vector<std::string> layer_paths() const override {
    std::vector<std::string> out;
    for (const Step& s : steps_) out.push_back(s.path);
    return out;
  }

 private:
  void plan_step(const Layer& layer, std::size_t index, const std::map<int, Shape>& shapes, Step& step);
  void assign_slots(const deploy::Model& model, const std::map<int, Shape>& shapes);
  void check_input(const FloatBatch& input) const;
  void execute(const FloatBatch& input, std::map<std::size_t, IntBatch>* accumulators);
  const float* read(const Operand& o, const FloatBatch& input) const {
    return o.slot < 0 ? input.data.data() : slots_[static_cast<std::size_t>(o.slot)].data();
  }

  void run_shift_add(const Step& s, const float* x, float* y, int64_t n, IntBatch* acc);
  void run_integer_loops(const Step& s, const float* x, float* y, int64_t n, IntBatch* acc);
  void run_float_loops(const Step& s, const float* x, float* y, int64_t n);
  static void run_pool(const Step& s, const float* x, float* y, int64_t n);

  Shape input_shape_;
  Operand output_;
  Isa isa_ = Isa::kScalar;
  std::vector<Step> steps_;
  std::size_t weight_bytes_ = 0;
  // Activation buffers, reused across layers by liveness: slot s holds slot_image_[s] floats per image.
  std::vector<std::size_t> slot_image_;
  std::vector<std::vector<float>> slots_;
  // Scratch of the conv steps, grown to the largest layer on the first run of a batch size.
  std::vector<std::uint8_t> codes_nhwc_;
  std::vector<float> out_nhwc_;
  std::vector<std::int32_t> acc_nhwc_;
  std::vector<double> x_double_;
  Workspace workspace_;
  FloatBatch logits_;
};

ShiftAddPlan::ShiftAddPlan(const deploy::Model& model, const PlanOptions& options) {
  const std::map<int, Shape> shapes = deploy::validate(model);
  // threads is recorded by the interface but this engine runs on the calling thread: one image's layers are
  // small and a batch can be split across plans by the caller.
  if (options.threads < 1)
    throw InputError("shift-add engine: threads = " + std::to_string(options.threads) + " must be >= 1");
  isa_ = resolve_isa(parse_isa(options.isa));
  input_shape_ = model.input;
  steps_.resize(model.layers.size());
  for (std::size_t i = 0; i < model.layers.size(); ++i) plan_step(model.layers[i], i, shapes, steps_[i]);
  assign_slots(model, shapes);
}

void ShiftAddPlan::plan_step(const Layer& layer, std::size_t index, const std::map<int, Shape>& shapes,
                             Step& s) {
  s.index = index;
  s.layer = layer;
  s.path = std::string(deploy::to_string(layer.op));
  const Shape in = shapes.at(layer.inputs.front());
  switch (layer.op) {
    case Op::Normalize:
      s.kind = StepKind::kNormalize;
      return;
    case Op::Add:
      s.kind = StepKind::kAdd;
      return;
    case Op::Concat:
      s.kind = StepKind::kConcat;
      return;
    case Op::MaxPool:
    case Op::AvgPool:
      s.kind = StepKind::kPool;
      return;
    case Op::GlobalAvgPool:
      s.kind = StepKind::kGlobalAvgPool;
      return;
    case Op::Flatten:
      s.kind = StepKind::kFlatten;
      return;
    case Op::ChannelPadSubsample:
      s.kind = StepKind::kPadSubsample;
      return;
    case Op::Conv2d:
    case Op::Linear:
      break;
  }

  deploy::Conv& c = s.layer.conv;
  if (!c.integer()) {
    // A float side: the first layer's normalised input, or float weights (methods the integer IR cannot
    // express). Codes become floats once here; the run converts both sides to double as the reference does.
    s.kind = StepKind::kFloatLoops;
    if (c.weights.format == WeightFormat::Float) {
      s.weights = std::move(c.weights.values);
    } else {
      for (int32_t code : deploy::weight_codes(c)) s.weights.push_back(static_cast<float>(code));
    }
    c.weights.values.clear();
    c.weights.planes.clear();
    c.weights.codes.clear();
    weight_bytes_ += s.weights.size() * sizeof(float);
    s.path +=
        c.input_quant.kind == ActKind::None ? ": float loops (float input)" : ": float loops (float weights)";
    return;
  }

  const std::string refusal = kernel_refusal(c, in);
  if (!refusal.empty()) {
    s.kind = StepKind::kIntegerLoops;
    weight_bytes_ += c.weights.planes.size() * sizeof(uint64_t) + c.weights.codes.size();
    s.path += ": integer loops " + bits_label(c) + " (" + refusal + ")";
    return;
  }

  s.kind = StepKind::kShiftAdd;
  const Shape out = shapes.at(layer.output);
  ConvShape& shape = s.conv_shape;
  shape.in_channels = static_cast<int>(c.in_channels);
  shape.out_channels = static_cast<int>(c.out_channels);
  shape.in_h = static_cast<int>(in.h);
  shape.in_w = static_cast<int>(in.w);
  shape.kernel_h = static_cast<int>(c.kernel_h);
  shape.kernel_w = static_cast<int>(c.kernel_w);
  shape.stride_h = static_cast<int>(c.stride_h);
  shape.stride_w = static_cast<int>(c.stride_w);
  shape.pad_h = static_cast<int>(c.pad_h);
  shape.pad_w = static_cast<int>(c.pad_w);
  shape.groups = static_cast<int>(c.groups);
  if (shape.out_h() != out.h || shape.out_w() != out.w)
    throw InputError("shift-add engine: layer " + std::to_string(index) + " '" + layer.name +
                     "': the kernel's output shape differs from the model's");
  // The IR's K order (ci, ky, kx) is the kernel's OIHW order; odd codes of <= 4 bits fit int8.
  const std::vector<int32_t> codes = deploy::weight_codes(c);
  const std::vector<int8_t> narrow(codes.begin(), codes.end());
  s.packed = PackedConvWeights(shape, narrow, c.weights.bits);
  weight_bytes_ += s.packed.block_words() * sizeof(uint64_t) * to_size(c.groups) *
                   static_cast<std::size_t>(s.packed.blocks_per_group());
  s.epilogue.multiplier = c.mul;
  s.epilogue.bias = c.bias;
  // ReLU6's upper clip is applied after the kernel (its epilogue has ReLU only).
  s.epilogue.relu = layer.activation != Activation::None;
  // Requantisation is not fused: the kernel's rule (round(clamp(y / beta, 0, 1) * qmax), std::round) is not
  // the export format's (floor(|y / scale| + 0.5f) after the clamp, in float32), so the next layer's codes
  // could differ at ties; the consumer quantizes with deploy::quantize_activation instead.
  c.weights.planes.clear();
  c.weights.codes.clear();
  s.path += ": shift-add " + std::string(isa_name(isa_)) + " " + bits_label(c);
}

void ShiftAddPlan::assign_slots(const deploy::Model& model, const std::map<int, Shape>& shapes) {
  // A value's buffer is free for reuse after its last reader; the logits are kept to the end.
  const std::size_t never = std::numeric_limits<std::size_t>::max();
  std::map<int, std::size_t> last_read;
  for (std::size_t i = 0; i < model.layers.size(); ++i)
    for (int v : model.layers[i].inputs) last_read[v] = i;
  last_read[model.output] = never;

  std::map<int, int> slot_of;
  std::vector<bool> busy;
  auto operand = [&](int value) {
    Operand o;
    o.shape = shapes.at(value);
    o.slot = value == deploy::kInputValue ? -1 : slot_of.at(value);
    return o;
  };
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& l = model.layers[i];
    Step& s = steps_[i];
    for (int v : l.inputs) s.inputs.push_back(operand(v));
    // The output never shares a buffer with this layer's inputs: they are released only after it is placed.
    const auto free_slot = std::find(busy.begin(), busy.end(), false);
    const int slot = static_cast<int>(free_slot - busy.begin());
    if (free_slot == busy.end()) {
      busy.push_back(true);
      slot_image_.push_back(0);
    }
    busy[static_cast<std::size_t>(slot)] = true;
    slot_of[l.output] = slot;
    s.output = operand(l.output);
    std::size_t& size = slot_image_[static_cast<std::size_t>(slot)];
    size = std::max(size, to_size(s.output.shape.size()));
    for (int v : l.inputs)
      if (v != deploy::kInputValue && last_read.at(v) == i)
        busy[static_cast<std::size_t>(slot_of.at(v))] = false;
    if (!last_read.contains(l.output)) busy[static_cast<std::size_t>(slot)] = false;  // never read
  }
  slots_.resize(slot_image_.size());
  output_ = operand(model.output);
}

void ShiftAddPlan::check_input(const FloatBatch& input) const {
  const Shape& s = input.shape;
  if (!(s == input_shape_) || input.n < 0 || input.n > std::numeric_limits<int>::max() ||
      input.data.size() != to_size(input.n * s.size()))
    throw InputError("shift-add engine: input of shape [" + std::to_string(s.c) + ", " + std::to_string(s.h) +
                     ", " + std::to_string(s.w) + "] x " + std::to_string(input.n) + " (" +
                     std::to_string(input.data.size()) + " values), the model takes [" +
                     std::to_string(input_shape_.c) + ", " + std::to_string(input_shape_.h) + ", " +
                     std::to_string(input_shape_.w) + "]");
  for (std::size_t i = 0; i < input.data.size(); ++i)
    if (!std::isfinite(input.data[i]))
      throw InputError("shift-add engine: input element " + std::to_string(i) + " is not finite");
}

void ShiftAddPlan::execute(const FloatBatch& input, std::map<std::size_t, IntBatch>* accumulators) {
  check_input(input);
  const int64_t n = input.n;
  // Same batch size as last time: every resize below keeps its storage.
  for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].resize(to_size(n) * slot_image_[i]);

  for (const Step& s : steps_) {
    const Layer& l = s.layer;
    const float* x = read(s.inputs.front(), input);
    float* y = slots_[static_cast<std::size_t>(s.output.slot)].data();
    const Shape& in = s.inputs.front().shape;
    const Shape& out = s.output.shape;
    const std::size_t in_image = to_size(in.size()), out_image = to_size(out.size());
    const std::size_t in_plane = to_size(in.h * in.w);
    IntBatch* acc = nullptr;
    if (accumulators != nullptr && l.conv.integer() && (l.op == Op::Conv2d || l.op == Op::Linear))
      acc = &(*accumulators)[s.index];
    switch (s.kind) {
      case StepKind::kNormalize:
        for (int64_t b = 0; b < n; ++b)
          for (std::size_t c = 0; c < to_size(in.c); ++c) {
            const std::size_t base = (to_size(b) * to_size(in.c) + c) * in_plane;
            for (std::size_t i = 0; i < in_plane; ++i)
              y[base + i] = (x[base + i] - l.normalize.mean[c]) * l.normalize.inv_std[c];
          }
        break;
      case StepKind::kShiftAdd:
        run_shift_add(s, x, y, n, acc);
        break;
      case StepKind::kIntegerLoops:
        run_integer_loops(s, x, y, n, acc);
        break;
      case StepKind::kFloatLoops:
        run_float_loops(s, x, y, n);
        break;
      case StepKind::kAdd:
        // Float32 sums in input order, as the reference.
        for (std::size_t e = 0; e < to_size(n) * out_image; ++e) {
          float sum = x[e];
          for (std::size_t i = 1; i < s.inputs.size(); ++i) sum += read(s.inputs[i], input)[e];
          y[e] = activate(sum, l.activation);
        }
        break;
      case StepKind::kConcat:
        for (int64_t b = 0; b < n; ++b) {
          float* dst = y + to_size(b) * out_image;
          for (const Operand& part : s.inputs) {
            const std::size_t part_image = to_size(part.shape.size());
            const float* src = read(part, input) + to_size(b) * part_image;
            dst = std::copy(src, src + part_image, dst);
          }
        }
        break;
      case StepKind::kPool:
        run_pool(s, x, y, n);
        break;
      case StepKind::kGlobalAvgPool:
        for (std::size_t bc = 0; bc < to_size(n * in.c); ++bc) {
          double sum = 0;
          for (std::size_t i = 0; i < in_plane; ++i) sum += x[bc * in_plane + i];
          y[bc] = static_cast<float>(sum / static_cast<double>(in_plane));
        }
        break;
      case StepKind::kFlatten:
        std::copy(x, x + to_size(n) * in_image, y);  // NCHW: the same bytes
        break;
      case StepKind::kPadSubsample: {
        const deploy::PadSubsample& p = l.shortcut;
        std::fill(y, y + to_size(n) * out_image, 0.0f);
        for (int64_t b = 0; b < n; ++b)
          for (int64_t c = 0; c < in.c; ++c)
            for (int64_t i = 0; i < out.h; ++i)
              for (int64_t j = 0; j < out.w; ++j)
                y[to_size(((b * out.c + p.pad_before + c) * out.h + i) * out.w + j)] =
                    x[to_size(((b * in.c + c) * in.h + i * p.stride) * in.w + j * p.stride)];
        break;
      }
    }
  }

  logits_.n = n;
  logits_.shape = output_.shape;
  const float* logits = read(output_, input);
  logits_.data.assign(logits, logits + to_size(n * output_.shape.size()));
}

void ShiftAddPlan::run_shift_add(const Step& s, const float* x, float* y, int64_t n, IntBatch* acc) {
  const deploy::Conv& c = s.layer.conv;
  const Shape& in = s.inputs.front().shape;
  const Shape& out = s.output.shape;
  const std::size_t channels = to_size(in.c), in_plane = to_size(in.h * in.w);
  const std::size_t o_count = to_size(out.c), out_plane = to_size(out.h * out.w);
  const auto batch = static_cast<int>(n);

  // NCHW floats -> NHWC codes, by the export format's rule (the same function as the reference).
  codes_nhwc_.resize(to_size(n) * channels * in_plane);
  for (std::size_t b = 0; b < to_size(n); ++b)
    for (std::size_t ch = 0; ch < channels; ++ch) {
      const float* src = x + (b * channels + ch) * in_plane;
      std::uint8_t* dst = codes_nhwc_.data() + b * in_plane * channels + ch;
      for (std::size_t p = 0; p < in_plane; ++p)
        dst[p * channels] = static_cast<std::uint8_t>(deploy::quantize_activation(src[p], c.input_quant));
    }

  if (acc == nullptr) {
    out_nhwc_.resize(to_size(n) * o_count * out_plane);
    shift_add_conv(s.conv_shape, s.packed, codes_nhwc_.data(), batch, c.input_quant.bits, s.epilogue,
                   out_nhwc_.data(), isa_, &workspace_);
    const bool relu6 = s.layer.activation == Activation::Relu6;
    for (std::size_t b = 0; b < to_size(n); ++b)
      for (std::size_t p = 0; p < out_plane; ++p) {
        const float* src = out_nhwc_.data() + (b * out_plane + p) * o_count;
        float* dst = y + b * o_count * out_plane + p;
        for (std::size_t o = 0; o < o_count; ++o)
          dst[o * out_plane] = relu6 ? std::min(src[o], 6.0f) : src[o];
      }
    return;
  }

  // With accumulators: the kernel's int32 output, transposed to NCHW, then the epilogue here.
  acc_nhwc_.resize(to_size(n) * o_count * out_plane);
  shift_add_conv(s.conv_shape, s.packed, codes_nhwc_.data(), batch, c.input_quant.bits, acc_nhwc_.data(),
                 isa_, &workspace_);
  *acc = IntBatch(n, out);
  for (std::size_t b = 0; b < to_size(n); ++b)
    for (std::size_t p = 0; p < out_plane; ++p)
      for (std::size_t o = 0; o < o_count; ++o) {
        const std::size_t at = (b * o_count + o) * out_plane + p;
        const int32_t a = acc_nhwc_[(b * out_plane + p) * o_count + o];
        acc->data[at] = a;
        y[at] = activate(static_cast<float>(a) * c.mul[o] + c.bias[o], s.layer.activation);
      }
}

void ShiftAddPlan::run_integer_loops(const Step& s, const float* x, float* y, int64_t n, IntBatch* acc) {
  // The reference's own integer convolution: these layers (int8 first/last layers, signed inputs) move to
  // oneDNN int8 later. It allocates its codes and accumulators on every run.
  const deploy::Conv& c = s.layer.conv;
  const Shape& in = s.inputs.front().shape;
  IntBatch codes(n, in);
  for (std::size_t i = 0; i < codes.data.size(); ++i)
    codes.data[i] = deploy::quantize_activation(x[i], c.input_quant);
  IntBatch result = deploy::integer_accumulators(s.layer, codes);
  const std::size_t plane = to_size(result.shape.h * result.shape.w);
  for (std::size_t i = 0; i < result.data.size(); ++i) {
    const std::size_t o = i / plane % to_size(result.shape.c);
    y[i] = activate(static_cast<float>(result.data[i]) * c.mul[o] + c.bias[o], s.layer.activation);
  }
  if (acc != nullptr) *acc = std::move(result);
}

void ShiftAddPlan::run_float_loops(const Step& s, const float* x, float* y, int64_t n) {
  const deploy::Conv& c = s.layer.conv;
  const Shape& in = s.inputs.front().shape;
  const Shape& out = s.output.shape;
  // Both sides in double, the products exact, summed in the reference's order (ci, ky, kx) and rounded to
  // float once: the same float as the reference.
  x_double_.resize(to_size(n * in.size()));
  for (std::size_t i = 0; i < x_double_.size(); ++i)
    x_double_[i] = c.input_quant.kind == ActKind::None
                       ? static_cast<double>(x[i])
                       : static_cast<double>(deploy::quantize_activation(x[i], c.input_quant));
  const int64_t in_per_group = c.in_channels / c.groups, out_per_group = c.out_channels / c.groups;
  const int64_t k = c.k();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < out.c; ++o) {
      const int64_t group = o / out_per_group;
      const float* w = s.weights.data() + to_size(o * k);
      for (int64_t oy = 0; oy < out.h; ++oy)
        for (int64_t ox = 0; ox < out.w; ++ox) {
          double sum = 0;
          for (int64_t ci = 0; ci < in_per_group; ++ci) {
            const double* plane =
                x_double_.data() + to_size((b * in.c + group * in_per_group + ci) * in.h * in.w);
            for (int64_t ky = 0; ky < c.kernel_h; ++ky) {
              const int64_t iy = oy * c.stride_h - c.pad_h + ky;
              if (iy < 0 || iy >= in.h) continue;  // padding: 0
              for (int64_t kx = 0; kx < c.kernel_w; ++kx) {
                const int64_t ix = ox * c.stride_w - c.pad_w + kx;
                if (ix < 0 || ix >= in.w) continue;
                sum +=
                    static_cast<double>(w[(ci * c.kernel_h + ky) * c.kernel_w + kx]) * plane[iy * in.w + ix];
              }
            }
          }
          const auto oc = to_size(o);
          y[to_size(((b * out.c + o) * out.h + oy) * out.w + ox)] =
              activate(static_cast<float>(sum) * c.mul[oc] + c.bias[oc], s.layer.activation);
        }
    }
}

void ShiftAddPlan::run_pool(const Step& s, const float* x, float* y, int64_t n) {
  const deploy::Pool& p = s.layer.pool;
  const Shape& in = s.inputs.front().shape;
  const Shape& out = s.output.shape;
  const bool max_pool = s.layer.op == Op::MaxPool;
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

std::unique_ptr<Plan> plan_shift_add(const deploy::Model& model, const PlanOptions& options) {
  return std::make_unique<ShiftAddPlan>(model, options);
}

}  // namespace r2q::backends::cpu
