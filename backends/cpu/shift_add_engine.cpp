// The shift-add engine: a plan of one step per layer over reused activation buffers. Each value has a layout
// chosen at plan time (issue 19): kernel layers write NHWC, the kernels' own order, either floats or, when
// every reader is a kernel layer with the same input quantizer, the readers' u8 codes straight from the fused
// epilogue (codes stay codes: no float tensor, no layout change in between); adds and shortcut subsampling
// keep NHWC, and a residual add or an input-affine first layer whose kernel readers share one quantizer also
// writes their codes beside its NHWC floats; every other layer reads and writes NCHW through the shared loops
// of float_ops.h (an NHWC input is transposed for it). Every float is computed in the reference interpreter's
// order and precision, so the values feeding each quantizer are bit-identical to the reference's, and so are
// the codes and accumulators.
#include "backends/cpu/shift_add_engine.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
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
  kAffineLoops,   // the first layer on the pixels' codes (input affine): run_affine_layer
  kOther,         // every other op: run_other
};

// How a value is stored: NCHW floats (the IR's order), NHWC floats, or NHWC u8 codes of its readers' input
// quantizer.
enum class Layout { kNchw, kNhwc, kCodes };

// Where a value lives during a run: a buffer slot, or the caller's input (slot -1), and its layout.
struct Operand {
  int slot = -1;
  Shape shape;
  Layout layout = Layout::kNchw;
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
  // When the output is the readers' codes: their quantizer, and the epilogue that writes them.
  deploy::InputQuant output_quant;
  Epilogue codes_epilogue;
  // An add or an input-affine first layer whose kernel readers take their codes from it (fused_quant, written
  // to `codes`); a kernel layer that reads those codes: that step's index.
  bool emits_codes = false;
  deploy::InputQuant fused_quant;
  std::vector<std::uint8_t> codes;
  int codes_from = -1;
  // kFloatLoops: the weights [O, K] as float (integer codes are exact in float)
  std::vector<float> weights;
  // kAffineLoops
  AffineLayer affine;
};

constexpr float kNoClip = std::numeric_limits<float>::infinity();

bool fits_int(int64_t v) {
  return v >= 0 && v <= std::numeric_limits<int>::max();
}

// Empty when the shift-add kernel can run this integer conv/linear layer, else why not (for layer_paths).
std::string kernel_refusal(const deploy::Conv& c, const Shape& in) {
  if (c.input_affine.on) return "an input affine, with per-channel sums the kernel does not keep";
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

// Copies n images of shape `sh` between NCHW and NHWC.
void nchw_to_nhwc(const float* x, float* y, const Shape& sh, int64_t n) {
  const std::size_t c = to_size(sh.c), plane = to_size(sh.h * sh.w);
  for (std::size_t b = 0; b < to_size(n); ++b)
    for (std::size_t ch = 0; ch < c; ++ch) {
      const float* src = x + (b * c + ch) * plane;
      float* dst = y + b * plane * c + ch;
      for (std::size_t p = 0; p < plane; ++p) dst[p * c] = src[p];
    }
}

// Writes each output plane in order (stores a plane apart, often 4 KiB, would fall into one cache set).
void nhwc_to_nchw(const float* x, float* y, const Shape& sh, int64_t n) {
  const std::size_t c = to_size(sh.c), plane = to_size(sh.h * sh.w);
  for (std::size_t b = 0; b < to_size(n); ++b)
    for (std::size_t ch = 0; ch < c; ++ch) {
      const float* src = x + b * plane * c + ch;
      float* dst = y + (b * c + ch) * plane;
      for (std::size_t p = 0; p < plane; ++p) dst[p] = src[p * c];
    }
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
  std::map<int, Layout> plan_layouts(const deploy::Model& model);
  void fuse_quantizer(Step& add, const std::vector<Step*>& readers, const std::map<int, Layout>& layouts);
  static bool fuse_readers_quantizer(Step& producer, const std::vector<Step*>& readers);
  void assign_slots(const deploy::Model& model, const std::map<int, Shape>& shapes,
                    const std::map<int, Layout>& layouts);
  void execute(const FloatBatch& input, std::map<std::size_t, IntBatch>* accumulators) override;
  const float* read(const Operand& o, const FloatBatch& input) const {
    return o.slot < 0 ? input.data.data() : slots_[static_cast<std::size_t>(o.slot)].data();
  }
  float* write(const Operand& o) { return slots_[static_cast<std::size_t>(o.slot)].data(); }
  // Input `i` of step `s` in `want` (NCHW or NHWC floats): the value itself, or a transposed copy.
  const float* read_as(const Step& s, std::size_t i, Layout want, const FloatBatch& input, int64_t n);

  const std::uint8_t* input_codes(const Step& s, const float* x, int64_t n);
  void run_shift_add(const Step& s, const float* x, float* y, int64_t n, IntBatch* acc);
  void run_layout_op(Step& s, const FloatBatch& input, float* y, int64_t n);

  Shape input_shape_;
  Operand output_;
  Isa isa_ = Isa::Scalar;
  std::vector<Step> steps_;
  std::size_t weight_bytes_ = 0;
  // Activation buffers, reused across layers by liveness: slot s holds slot_image_[s] floats per image (codes
  // use them as bytes).
  std::vector<std::size_t> slot_image_;
  std::vector<std::vector<float>> slots_;
  // Scratch of the conv steps, grown to the largest layer on the first run of a batch size.
  std::vector<std::uint8_t> codes_nhwc_;
  std::vector<std::uint8_t> plane_codes_;  // one channel's codes, before the NHWC scatter
  std::vector<float> out_nhwc_;
  std::vector<std::int32_t> acc_nhwc_;
  std::vector<double> x_double_, sums_;
  std::vector<float> affine_scratch_;
  std::vector<std::vector<float>> transposed_;  // inputs in another layout, by input index
  std::vector<const float*> inputs_;            // of the step being run (kOther)
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
  assign_slots(model, shapes, plan_layouts(model));
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
  if (std::optional<AffineLayer> affine = prepare_affine_layer(c, in, isa_)) {
    s.kind = StepKind::kAffineLoops;
    s.affine = std::move(*affine);
    weight_bytes_ += s.affine.weight_bytes();
    c.weights.planes.clear();
    c.weights.codes.clear();
    s.path +=
        ": integer loops on pixel codes " + bits_label(c) + ", input affine (exact sums " +
        (s.affine.int_sums == IntSums::Bytes   ? std::string("by avx512-vnni dot products)")
         : s.affine.int_sums == IntSums::Words ? std::string("by avx2 16-bit multiply-adds)")
                                               : "in " + std::string(isa_name(isa_)) + " float32 lanes)");
    return;
  }
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
  const bool dot =
      dot_product_runs(isa_) && dot_product_suits(shape, c.weights.bits, c.input_quant.bits, isa_);
  s.packed = PackedConvWeights(shape, narrow, c.weights.bits, dot ? Packing::DotProduct : Packing::BitPlanes);
  weight_bytes_ += s.packed.bytes();
  s.epilogue.multiplier = c.mul;
  s.epilogue.bias = c.bias;
  // ReLU6's upper clip is applied after the kernel (its epilogue has ReLU only).
  s.epilogue.relu = layer.activation != Activation::None;
  // ReLU6's clip at 6, for an epilogue that writes the next layer's codes (plan_layouts decides).
  if (layer.activation == Activation::Relu6) s.epilogue.upper = 6.0f;
  c.weights.planes.clear();
  c.weights.codes.clear();
  s.path += uses_dot_product(isa_, s.packed) ? ": dot products " + std::string(dot_product_name(isa_)) + " "
                                             : ": shift-add " + std::string(isa_name(isa_)) + " ";
  s.path += bits_label(c);
}

// Each value's layout, in execution order: a kernel layer writes its readers' codes when every reader is a
// kernel layer with the same input quantizer (and the value is not the logits), else NHWC floats; the first
// layer writes NHWC when every reader takes it (and its kernel readers' codes beside,
// fuse_readers_quantizer); an add writes NHWC when an input is NHWC (codes beside, fuse_quantizer), a
// shortcut subsample keeps its input's layout; everything else NCHW.
std::map<int, Layout> ShiftAddPlan::plan_layouts(const deploy::Model& model) {
  std::map<int, std::vector<Step*>> readers;
  for (Step& s : steps_)
    for (int v : s.layer.inputs) readers[v].push_back(&s);
  std::map<int, Layout> layouts = {{deploy::kInputValue, Layout::kNchw}};
  for (Step& s : steps_) {
    const Layer& l = s.layer;
    Layout out = Layout::kNchw;
    if (s.kind == StepKind::kShiftAdd) {
      const auto& r = readers[l.output];
      const bool codes =
          l.output != model.output && !r.empty() && std::all_of(r.begin(), r.end(), [&](const Step* reader) {
            return reader->kind == StepKind::kShiftAdd &&
                   reader->layer.conv.input_quant == r.front()->layer.conv.input_quant;
          });
      out = codes ? Layout::kCodes : Layout::kNhwc;
      if (codes) {
        s.output_quant = r.front()->layer.conv.input_quant;
        s.codes_epilogue = s.epilogue;
        s.codes_epilogue.out_bits = s.output_quant.bits;
        s.codes_epilogue.out_scale = s.output_quant.scale;
      }
      // The conversions this layer still does, so that the per-layer table shows them (issue 19, item 4).
      const Layout in = layouts.at(l.inputs.front());
      const bool from_stem =
          s.codes_from >= 0 && steps_[static_cast<std::size_t>(s.codes_from)].kind == StepKind::kAffineLoops;
      s.path += in == Layout::kCodes  ? ", codes in"
                : from_stem           ? ", codes in (from the first layer's fused quantizer)"
                : s.codes_from >= 0   ? ", codes in (from the add's fused quantizer)"
                : in == Layout::kNhwc ? ", NHWC float in (quantized here)"
                                      : ", NCHW float in (transposed and quantized here)";
      s.path += codes ? " -> codes out" : " -> NHWC float out";
    } else if (s.kind == StepKind::kFloatLoops || s.kind == StepKind::kAffineLoops) {
      // The stem: NHWC when every reader takes it without a transpose.
      const auto& r = readers[l.output];
      const bool nhwc =
          l.output != model.output && !r.empty() && std::all_of(r.begin(), r.end(), [](const Step* x) {
            return x->kind == StepKind::kShiftAdd || x->layer.op == Op::Add ||
                   x->layer.op == Op::ChannelPadSubsample || x->layer.op == Op::GlobalAvgPool;
          });
      out = nhwc ? Layout::kNhwc : Layout::kNchw;
      if (nhwc && s.kind == StepKind::kAffineLoops) fuse_readers_quantizer(s, r);
    } else if (l.op == Op::Add) {
      for (int v : l.inputs)
        if (layouts.at(v) == Layout::kNhwc) out = Layout::kNhwc;
      fuse_quantizer(s, readers[l.output], layouts);
    } else if (l.op == Op::ChannelPadSubsample) {
      out = layouts.at(l.inputs.front()) == Layout::kNhwc ? Layout::kNhwc : Layout::kNchw;
    }
    layouts[l.output] = out;
  }
  return layouts;
}

// A two-input add in NHWC whose kernel readers (at least one) share one input quantizer computes their codes
// in the same pass as the sum (add_and_quantize): the readers then quantize nothing. Its float sum stays for
// the other readers (the next residual add).
void ShiftAddPlan::fuse_quantizer(Step& add, const std::vector<Step*>& readers,
                                  const std::map<int, Layout>& layouts) {
  const Layer& l = add.layer;
  if (l.inputs.size() != 2 || layouts.at(l.inputs[0]) != Layout::kNhwc ||
      layouts.at(l.inputs[1]) != Layout::kNhwc)
    return;
  fuse_readers_quantizer(add, readers);
}

// Whether `producer`'s kernel readers (at least one) share one unsigned 8-bit input quantizer; if so, they
// take their codes from `producer` (which writes them beside its NHWC floats, and says so in its path) and
// quantize nothing.
bool ShiftAddPlan::fuse_readers_quantizer(Step& producer, const std::vector<Step*>& readers) {
  std::vector<Step*> kernels;
  for (Step* r : readers)
    if (r->kind == StepKind::kShiftAdd) kernels.push_back(r);
  if (kernels.empty()) return false;
  const deploy::InputQuant& q = kernels.front()->layer.conv.input_quant;
  for (const Step* r : kernels)
    if (!(r->layer.conv.input_quant == q)) return false;
  if (q.kind != ActKind::Unsigned || q.min_code < 0 || q.max_code > 255) return false;
  producer.emits_codes = true;
  producer.fused_quant = q;
  for (Step* r : kernels) r->codes_from = static_cast<int>(producer.index);
  // After the op name alone (an add), or after the path's own description (the first layer).
  producer.path += producer.path.find(':') == std::string::npos ? ": " : ", ";
  producer.path += "NHWC, fused with its readers' input quantizer -> floats and codes";
  return true;
}

void ShiftAddPlan::assign_slots(const deploy::Model& model, const std::map<int, Shape>& shapes,
                                const std::map<int, Layout>& layouts) {
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
    o.layout = layouts.at(value);
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
    const std::size_t values = to_size(s.output.shape.size());
    const std::size_t floats = s.output.layout == Layout::kCodes ? (values + 3) / 4 : values;
    std::size_t& size = slot_image_[static_cast<std::size_t>(slot)];
    size = std::max(size, floats);
    for (int v : l.inputs)
      if (v != deploy::kInputValue && last_read.at(v) == i)
        busy[static_cast<std::size_t>(slot_of.at(v))] = false;
    if (!last_read.contains(l.output)) busy[static_cast<std::size_t>(slot)] = false;  // never read
  }
  slots_.resize(slot_image_.size());
  output_ = operand(model.output);
}

const float* ShiftAddPlan::read_as(const Step& s, std::size_t i, Layout want, const FloatBatch& input,
                                   int64_t n) {
  const Operand& o = s.inputs[i];
  const float* x = read(o, input);
  if (o.layout == want) return x;
  if (transposed_.size() <= i) transposed_.resize(i + 1);
  std::vector<float>& t = transposed_[i];
  t.resize(to_size(n * o.shape.size()));
  if (want == Layout::kNchw)
    nhwc_to_nchw(x, t.data(), o.shape, n);
  else
    nchw_to_nhwc(x, t.data(), o.shape, n);
  return t.data();
}

void ShiftAddPlan::execute(const FloatBatch& input, std::map<std::size_t, IntBatch>* accumulators) {
  check_input(input, input_shape_, "shift-add", std::numeric_limits<int>::max());
  const int64_t n = input.n;
  // Same batch size as last time: every resize below keeps its storage.
  for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].resize(to_size(n) * slot_image_[i]);
  for (Step& s : steps_)
    if (s.emits_codes) s.codes.resize(to_size(n * s.output.shape.size()));

  for (Step& s : steps_) {
    const LayerTimer timer(profile_, s.index);
    const Layer& l = s.layer;
    float* y = write(s.output);
    IntBatch* acc = nullptr;
    if (accumulators != nullptr && l.conv.integer() && (l.op == Op::Conv2d || l.op == Op::Linear))
      acc = &(*accumulators)[s.index];
    switch (s.kind) {
      case StepKind::kShiftAdd:
        run_shift_add(s, read(s.inputs.front(), input), y, n, acc);
        break;
      case StepKind::kIntegerLoops:
        // The reference's own integer convolution: these layers (int8 first/last layers, signed inputs)
        // move to oneDNN int8 later.
        run_integer_loops(l, s.inputs.front().shape, read_as(s, 0, Layout::kNchw, input, n), y, n, acc);
        break;
      case StepKind::kFloatLoops:
        run_float_loops(l, s.weights.data(), s.inputs.front().shape, s.output.shape,
                        read_as(s, 0, Layout::kNchw, input, n), y, n, x_double_, isa_,
                        s.output.layout == Layout::kNhwc);
        break;
      case StepKind::kAffineLoops:
        run_affine_layer(l, s.affine, s.inputs.front().shape, s.output.shape,
                         read_as(s, 0, Layout::kNchw, input, n), y, n, affine_scratch_, x_double_, isa_,
                         s.output.layout == Layout::kNhwc, acc, s.emits_codes ? s.codes.data() : nullptr,
                         &s.fused_quant);
        break;
      case StepKind::kOther:
        run_layout_op(s, input, y, n);
        break;
    }
  }

  logits_.n = n;
  logits_.shape = output_.shape;
  const float* logits = read(output_, input);
  logits_.data.resize(to_size(n * output_.shape.size()));
  if (output_.layout == Layout::kNhwc)
    nhwc_to_nchw(logits, logits_.data.data(), output_.shape, n);
  else
    std::copy(logits, logits + logits_.data.size(), logits_.data.begin());
}

// A non-conv layer in its planned layout: adds and shortcut subsampling in NHWC where planned, global average
// pooling of an NHWC input directly (the same sums per channel, in the same order), the rest in NCHW.
void ShiftAddPlan::run_layout_op(Step& s, const FloatBatch& input, float* y, int64_t n) {
  const Layer& l = s.layer;
  const Shape& out = s.output.shape;
  if (s.emits_codes) {
    add_and_quantize(isa_, read(s.inputs[0], input), read(s.inputs[1], input), s.codes.size(),
                     l.activation != Activation::None, l.activation == Activation::Relu6 ? 6.0f : kNoClip, y,
                     s.fused_quant.scale, static_cast<int>(s.fused_quant.min_code),
                     static_cast<int>(s.fused_quant.max_code), s.codes.data());
    return;
  }
  if (s.output.layout == Layout::kNhwc && l.op == Op::ChannelPadSubsample) {
    const Shape& is = s.inputs.front().shape;
    const float* x = read(s.inputs.front(), input);
    const deploy::PadSubsample& p = l.shortcut;
    std::fill(y, y + to_size(n * out.size()), 0.0f);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < out.h; ++i)
        for (int64_t j = 0; j < out.w; ++j) {
          const float* src = x + to_size(((b * is.h + i * p.stride) * is.w + j * p.stride) * is.c);
          std::copy(src, src + is.c, y + to_size(((b * out.h + i) * out.w + j) * out.c + p.pad_before));
        }
    return;
  }
  if (l.op == Op::GlobalAvgPool && s.inputs.front().layout == Layout::kNhwc) {
    const Shape& is = s.inputs.front().shape;
    const float* x = read(s.inputs.front(), input);
    const std::size_t c = to_size(is.c), plane = to_size(is.h * is.w);
    sums_.resize(c);
    for (std::size_t b = 0; b < to_size(n); ++b) {
      std::fill(sums_.begin(), sums_.end(), 0.0);
      for (std::size_t p = 0; p < plane; ++p)
        for (std::size_t ch = 0; ch < c; ++ch) sums_[ch] += x[(b * plane + p) * c + ch];
      for (std::size_t ch = 0; ch < c; ++ch)
        y[b * c + ch] = static_cast<float>(sums_[ch] / static_cast<double>(plane));
    }
    return;
  }
  const Layout want = s.output.layout == Layout::kNhwc ? Layout::kNhwc : Layout::kNchw;
  inputs_.clear();  // keeps its capacity: no allocation after the first run
  for (std::size_t i = 0; i < s.inputs.size(); ++i) inputs_.push_back(read_as(s, i, want, input, n));
  run_other(l, inputs_, s.in_shapes, out, y, n);
}

// The kernel's NHWC input codes of step `s`: the value itself when it is codes, else quantized by the export
// format's rule from NHWC (contiguous) or NCHW floats.
const std::uint8_t* ShiftAddPlan::input_codes(const Step& s, const float* x, int64_t n) {
  const Operand& in = s.inputs.front();
  if (in.layout == Layout::kCodes) return reinterpret_cast<const std::uint8_t*>(x);
  if (s.codes_from >= 0) return steps_[static_cast<std::size_t>(s.codes_from)].codes.data();
  const deploy::InputQuant quant = s.layer.conv.input_quant;  // a local copy, which byte stores cannot alias
  const std::size_t channels = to_size(in.shape.c), in_plane = to_size(in.shape.h * in.shape.w);
  codes_nhwc_.resize(to_size(n) * channels * in_plane);
  if (in.layout == Layout::kNhwc) {
    // deploy::quantize_activation for unsigned codes (the kernels' only input kind), on the kernels' ISA.
    quantize_unsigned(isa_, x, codes_nhwc_.size(), quant.scale, static_cast<int>(quant.min_code),
                      static_cast<int>(quant.max_code), codes_nhwc_.data());
    return codes_nhwc_.data();
  }
  // NCHW: each channel's plane quantised in a contiguous loop that vectorises, then scattered to NHWC.
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
  return codes_nhwc_.data();
}

void ShiftAddPlan::run_shift_add(const Step& s, const float* x, float* y, int64_t n, IntBatch* acc) {
  const deploy::Conv& c = s.layer.conv;
  const Shape& out = s.output.shape;
  const Layout layout = s.output.layout;
  const std::size_t o_count = to_size(out.c), out_plane = to_size(out.h * out.w);
  const std::size_t count = to_size(n) * o_count * out_plane;
  const auto batch = static_cast<int>(n);
  const std::uint8_t* codes = input_codes(s, x, n);
  if (acc == nullptr) {
    if (layout == Layout::kCodes) {
      shift_add_conv(s.conv_shape, s.packed, codes, batch, c.input_quant.bits, s.codes_epilogue,
                     reinterpret_cast<std::uint8_t*>(y), isa_, &workspace_);
      return;
    }
    float* nhwc = y;
    if (layout == Layout::kNchw) {
      out_nhwc_.resize(count);
      nhwc = out_nhwc_.data();
    }
    shift_add_conv(s.conv_shape, s.packed, codes, batch, c.input_quant.bits, s.epilogue, nhwc, isa_,
                   &workspace_);
    // ReLU6's upper clip after (the kernel's float epilogue applies ReLU).
    if (s.layer.activation == Activation::Relu6)
      for (float* v = nhwc; v != nhwc + count; ++v) *v = std::min(*v, 6.0f);
    if (layout == Layout::kNchw) nhwc_to_nchw(nhwc, y, out, n);
    return;
  }

  // With accumulators: the kernel's int32 output (NCHW for the caller), then the epilogue here, in the
  // planned layout, by the same float operations.
  acc_nhwc_.resize(count);
  shift_add_conv(s.conv_shape, s.packed, codes, batch, c.input_quant.bits, acc_nhwc_.data(), isa_,
                 &workspace_);
  *acc = IntBatch(n, out);
  for (std::size_t b = 0; b < to_size(n); ++b)
    for (std::size_t p = 0; p < out_plane; ++p)
      for (std::size_t o = 0; o < o_count; ++o) {
        const std::size_t nchw = (b * o_count + o) * out_plane + p, nhwc = (b * out_plane + p) * o_count + o;
        const int32_t a = acc_nhwc_[nhwc];
        acc->data[nchw] = a;
        const float v = activate(static_cast<float>(a) * c.mul[o] + c.bias[o], s.layer.activation);
        if (layout == Layout::kCodes)
          reinterpret_cast<std::uint8_t*>(y)[nhwc] =
              static_cast<std::uint8_t>(deploy::quantize_activation(v, s.output_quant));
        else
          y[layout == Layout::kNhwc ? nhwc : nchw] = v;
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
