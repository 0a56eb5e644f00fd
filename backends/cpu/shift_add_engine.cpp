// The shift-add engine: a plan of one step per layer over reused activation buffers. Kernel layers quantize
// their NCHW float input to NHWC u8 codes, run shift_add_conv with the fused float epilogue and transpose
// back; every other layer runs the shared loops of float_ops.h, in the reference interpreter's order and
// precision, so that the float values feeding the next layer's quantizer are bit-identical to the
// reference's, and so are the next layer's codes and accumulators.
#include "backends/cpu/shift_add_engine.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/batch_split.h"
#include "backends/cpu/float_ops.h"
#include "backends/cpu/shift_add_conv.h"
#include "core/deploy/codes.h"
#include "core/deploy/reference.h"
#include "core/util/error.h"

namespace r2q::backends::cpu {
namespace {

using deploy::activate;
using deploy::Activation;
using deploy::ActKind;
using deploy::FloatBatch;
using deploy::IntBatch;
using deploy::Layer;
using deploy::Op;
using deploy::Shape;
using deploy::WeightFormat;

enum class StepKind {
  kShiftAdd,      // odd bit-plane weights x unsigned codes: the kernels
  kIntegerLoops,  // other integer layers (int8 codes, signed input): deploy::integer_accumulators
  kFloatLoops,    // a float side (input or weights): double sums as the reference
  kOther,         // every other op: run_other
};

// Where a value lives during a run: a buffer slot, or the caller's input (slot -1).
struct Operand {
  int slot = -1;
  Shape shape;
};

struct Step {
  StepKind kind = StepKind::kOther;
  std::size_t index = 0;  // of the layer in the model
  // The layer's attributes; its weight tensors only where the step computes from them (kIntegerLoops).
  Layer layer;
  std::vector<Operand> inputs;
  std::vector<Shape> in_shapes;  // of `inputs`, for run_other
  Operand output;
  std::string path;  // for layer_paths()
  // kShiftAdd
  ConvShape conv_shape;
  PackedConvWeights packed;
  Epilogue epilogue;
  // kFloatLoops: the weights [O, K] as float (integer codes are exact in float)
  std::vector<float> weights;
};

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

class ShiftAddPlan final : public ExecutingPlan {
 public:
  ShiftAddPlan(const deploy::Model& model, const PlanOptions& options);

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
  void execute(const FloatBatch& input, std::map<std::size_t, IntBatch>* accumulators) override;
  const float* read(const Operand& o, const FloatBatch& input) const {
    return o.slot < 0 ? input.data.data() : slots_[static_cast<std::size_t>(o.slot)].data();
  }

  void run_shift_add(const Step& s, const float* x, float* y, int64_t n, IntBatch* acc);

  Shape input_shape_;
  Operand output_;
  Isa isa_ = Isa::Scalar;
  std::vector<Step> steps_;
  std::size_t weight_bytes_ = 0;
  // Activation buffers, reused across layers by liveness: slot s holds slot_image_[s] floats per image.
  std::vector<std::size_t> slot_image_;
  std::vector<std::vector<float>> slots_;
  // Scratch of the conv steps, grown to the largest layer on the first run of a batch size.
  std::vector<std::uint8_t> codes_nhwc_;
  std::vector<std::uint8_t> plane_codes_;  // one channel's codes, before the NHWC scatter
  std::vector<float> out_nhwc_;
  std::vector<std::int32_t> acc_nhwc_;
  std::vector<double> x_double_;
  std::vector<const float*> inputs_;  // of the step being run (kOther)
  Workspace workspace_;
};

ShiftAddPlan::ShiftAddPlan(const deploy::Model& model, const PlanOptions& options) {
  const std::map<int, Shape> shapes = deploy::validate(model);
  layer_count_ = model.layers.size();
  // A plan runs on the calling thread (one image's layers are small); plan_shift_add gives each of
  // options.threads threads its own plan and a slice of the batch.
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
  if (layer.op != Op::Conv2d && layer.op != Op::Linear) {
    s.kind = StepKind::kOther;
    return;
  }

  deploy::Conv& c = s.layer.conv;
  if (!c.integer()) {
    // A float side: the first layer's normalised input, or float weights (methods the integer IR cannot
    // express). Codes become floats once here; the run converts both sides to double as the reference does.
    s.kind = StepKind::kFloatLoops;
    s.weights = take_float_loop_weights(c);
    weight_bytes_ += s.weights.size() * sizeof(float);
    s.path += float_loops_label(c);
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
    for (const Operand& o : s.inputs) s.in_shapes.push_back(o.shape);
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

void ShiftAddPlan::execute(const FloatBatch& input, std::map<std::size_t, IntBatch>* accumulators) {
  check_input(input, input_shape_, "shift-add", std::numeric_limits<int>::max());
  const int64_t n = input.n;
  // Same batch size as last time: every resize below keeps its storage.
  for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].resize(to_size(n) * slot_image_[i]);

  for (const Step& s : steps_) {
    const LayerTimer timer(profile_, s.index);
    const Layer& l = s.layer;
    const float* x = read(s.inputs.front(), input);
    float* y = slots_[static_cast<std::size_t>(s.output.slot)].data();
    IntBatch* acc = nullptr;
    if (accumulators != nullptr && l.conv.integer() && (l.op == Op::Conv2d || l.op == Op::Linear))
      acc = &(*accumulators)[s.index];
    switch (s.kind) {
      case StepKind::kShiftAdd:
        run_shift_add(s, x, y, n, acc);
        break;
      case StepKind::kIntegerLoops:
        // The reference's own integer convolution: these layers (int8 first/last layers, signed inputs)
        // move to oneDNN int8 later.
        run_integer_loops(l, s.inputs.front().shape, x, y, n, acc);
        break;
      case StepKind::kFloatLoops:
        run_float_loops(l, s.weights.data(), s.inputs.front().shape, s.output.shape, x, y, n, x_double_);
        break;
      case StepKind::kOther:
        inputs_.clear();  // keeps its capacity: no allocation after the first run
        for (const Operand& o : s.inputs) inputs_.push_back(read(o, input));
        run_other(l, inputs_, s.in_shapes, s.output.shape, y, n);
        break;
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

  // NCHW floats -> NHWC codes, by the export format's rule (the same function as the reference): each
  // channel's plane quantised in a contiguous loop that vectorises (the quantizer is a local copy, which byte
  // stores cannot alias), then scattered to its NHWC positions.
  const deploy::InputQuant quant = c.input_quant;
  codes_nhwc_.resize(to_size(n) * channels * in_plane);
  plane_codes_.resize(in_plane);
  for (std::size_t b = 0; b < to_size(n); ++b)
    for (std::size_t ch = 0; ch < channels; ++ch) {
      const float* src = x + (b * channels + ch) * in_plane;
      std::uint8_t* plane = plane_codes_.data();
      for (std::size_t p = 0; p < in_plane; ++p)
        plane[p] = static_cast<std::uint8_t>(deploy::quantize_activation(src[p], quant));
      std::uint8_t* dst = codes_nhwc_.data() + b * in_plane * channels + ch;
      for (std::size_t p = 0; p < in_plane; ++p) dst[p * channels] = plane[p];
    }

  if (acc == nullptr) {
    out_nhwc_.resize(to_size(n) * o_count * out_plane);
    shift_add_conv(s.conv_shape, s.packed, codes_nhwc_.data(), batch, c.input_quant.bits, s.epilogue,
                   out_nhwc_.data(), isa_, &workspace_);
    // NHWC -> NCHW, writing each output plane in order (stores a plane apart, often 4 KiB, would fall into
    // one cache set); ReLU6's upper clip after (the kernel's epilogue applies ReLU).
    for (std::size_t b = 0; b < to_size(n); ++b)
      for (std::size_t o = 0; o < o_count; ++o) {
        const float* src = out_nhwc_.data() + b * out_plane * o_count + o;
        float* dst = y + (b * o_count + o) * out_plane;
        for (std::size_t p = 0; p < out_plane; ++p) dst[p] = src[p * o_count];
      }
    if (s.layer.activation == Activation::Relu6) {
      float* end = y + to_size(n) * o_count * out_plane;
      for (float* v = y; v != end; ++v) *v = std::min(*v, 6.0f);
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

}  // namespace

std::unique_ptr<Plan> plan_shift_add(const deploy::Model& model, const PlanOptions& options) {
  PlanOptions one = options;
  one.threads = 1;
  std::vector<std::unique_ptr<Plan>> plans;
  plans.push_back(std::make_unique<ShiftAddPlan>(model, options));
  for (int t = 1; t < options.threads; ++t) plans.push_back(std::make_unique<ShiftAddPlan>(model, one));
  // Chunks whose largest activation takes a quarter of a typical 512 KiB-1 MiB L2: with the codes, the
  // kernel's NHWC output and the next layer's input they stay in the core's cache.
  constexpr std::size_t kChunkCacheBytes = 128 * 1024;
  return split_batches(std::move(plans), model, chunk_for_cache(model, kChunkCacheBytes));
}

}  // namespace r2q::backends::cpu
