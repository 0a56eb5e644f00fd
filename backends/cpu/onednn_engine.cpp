// The oneDNN engines' plan: one step per layer over one buffer per value.
// Conv/linear layers run as OnednnConv primitives (or, in the int8 engine, loops where no primitive is
// exact); every other op runs plain loops in the reference interpreter's order and precision.
#include "backends/cpu/onednn_engine.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/cpu/onednn_conv.h"
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

std::size_t to_size(int64_t v) {
  return static_cast<std::size_t>(v);
}

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

enum class StepKind { kOnednn, kIntegerLoops, kFloatLoops, kOther };

struct Step {
  StepKind kind = StepKind::kOther;
  std::size_t index = 0;
  Layer layer;  // attributes; weight tensors only for kIntegerLoops
  std::vector<Shape> in_shapes;
  Shape out_shape;
  std::optional<OnednnConv> conv;  // kOnednn
  std::vector<float> weights;      // kFloatLoops: [O, K] (codes are exact in float)
  std::string path;
};

std::string bits_label(const deploy::Conv& c) {
  return "W" + std::to_string(c.weights.bits) + "A" + std::to_string(c.input_quant.bits);
}

class OnednnPlan final : public Plan {
 public:
  OnednnPlan(const deploy::Model& model, const PlanOptions& options, bool int8);

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
  std::string engine() const override { return int8_ ? "onednn-int8" : "onednn-fp32"; }
  std::size_t weight_bytes() const override { return weight_bytes_; }
  std::vector<std::string> layer_paths() const override;

 private:
  void plan_conv(Step& s, const Shape& in);
  void plan_batch(int64_t n);
  void check_input(const FloatBatch& input) const;
  void execute(const FloatBatch& input, std::map<std::size_t, IntBatch>* accumulators);
  const float* value(int id, const FloatBatch& input) const {
    return id == deploy::kInputValue ? input.data.data() : values_.at(id).data();
  }
  static void run_other(const Step& s, const std::vector<const float*>& in, float* y, int64_t n);
  static void run_pool(const Step& s, const float* x, float* y, int64_t n);
  static void run_float_loops(const Step& s, const float* x, float* y, int64_t n);

  bool int8_ = false;
  int threads_ = 1;
  Shape input_shape_;
  int output_ = -1;
  Shape output_shape_;
  std::vector<Step> steps_;
  std::size_t weight_bytes_ = 0;
  std::map<int, std::vector<float>> values_;  // by value id, sized on a run
  dnnl::engine dnnl_engine_;
  dnnl::stream stream_;
  int64_t planned_n_ = -1;
  std::vector<const float*> inputs_;  // of the step being run
  FloatBatch logits_;
};

OnednnPlan::OnednnPlan(const deploy::Model& model, const PlanOptions& options, bool int8)
    : int8_(int8),
      threads_(options.threads),
      dnnl_engine_(dnnl::engine::kind::cpu, 0),
      stream_(dnnl_engine_) {
  const std::map<int, Shape> shapes = deploy::validate(model);
  if (options.threads < 1)
    throw InputError(engine() + " engine: threads = " + std::to_string(options.threads) + " must be >= 1");
  input_shape_ = model.input;
  output_ = model.output;
  output_shape_ = shapes.at(model.output);
  steps_.resize(model.layers.size());
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const Layer& l = model.layers[i];
    Step& s = steps_[i];
    s.index = i;
    s.layer = l;
    for (int v : l.inputs) s.in_shapes.push_back(shapes.at(v));
    s.out_shape = shapes.at(l.output);
    s.path = std::string(deploy::to_string(l.op));
    values_[l.output];
    if (l.op == Op::Conv2d || l.op == Op::Linear) plan_conv(s, s.in_shapes.front());
  }
  plan_batch(1);  // the common case, planned now; another batch size is planned on its first run
}

void OnednnPlan::plan_conv(Step& s, const Shape& in) {
  deploy::Conv& c = s.layer.conv;
  const std::string primitive = s.layer.op == Op::Linear ? "inner product" : "convolution";
  auto onednn = [&](OnednnConvMode mode, const std::string& label) {
    s.kind = StepKind::kOnednn;
    s.conv.emplace(s.layer, in, s.out_shape, mode);
    weight_bytes_ += s.conv->weight_bytes();
    c.weights.values.clear();
    c.weights.planes.clear();
    c.weights.codes.clear();
    s.path += ": onednn " + label + " " + primitive;
  };
  if (!int8_) {
    onednn(OnednnConvMode::kFp32, "f32");
    return;
  }
  if (!c.integer()) {
    // A float side: loops in double as the reference, so that the next quantizer sees its exact floats.
    s.kind = StepKind::kFloatLoops;
    if (c.weights.format == WeightFormat::Float)
      s.weights.assign(c.weights.values.begin(), c.weights.values.end());
    else
      for (int32_t code : deploy::weight_codes(c)) s.weights.push_back(static_cast<float>(code));
    weight_bytes_ += s.weights.size() * sizeof(float);
    c.weights.values.clear();
    c.weights.planes.clear();
    c.weights.codes.clear();
    s.path +=
        c.input_quant.kind == ActKind::None ? ": float loops (float input)" : ": float loops (float weights)";
    return;
  }
  const std::string int8_why = int8_refusal(c);
  if (int8_why.empty()) {
    onednn(OnednnConvMode::kInt8,
           std::string(c.input_quant.kind == ActKind::Signed ? "s8" : "u8") + "s8s32 " + bits_label(c));
    return;
  }
  const std::string f32_why = exact_f32_refusal(c);
  if (f32_why.empty()) {
    onednn(OnednnConvMode::kExactF32, "exact f32 " + bits_label(c) + " (not int8: " + int8_why + ")");
    return;
  }
  s.kind = StepKind::kIntegerLoops;
  weight_bytes_ += c.weights.planes.size() * sizeof(uint64_t) + c.weights.codes.size();
  s.path += ": integer loops " + bits_label(c) + " (" + int8_why + "; " + f32_why + ")";
}

void OnednnPlan::plan_batch(int64_t n) {
  // Primitives and buffers for batch n; the weights are reordered again, to the layouts oneDNN picks for n.
  planned_n_ = -1;  // until every step is planned (a failure leaves nothing half-planned in use)
  for (Step& s : steps_) {
    values_.at(s.layer.output).resize(to_size(n * s.out_shape.size()));
    if (s.conv) s.conv->plan(n, dnnl_engine_, stream_);
  }
  planned_n_ = n;
}

std::vector<std::string> OnednnPlan::layer_paths() const {
  std::vector<std::string> out;
  for (const Step& s : steps_) {
    std::string path = s.path;
    if (s.conv && !s.conv->implementation().empty()) path += " [" + s.conv->implementation() + "]";
    out.push_back(path);
  }
  return out;
}

void OnednnPlan::check_input(const FloatBatch& input) const {
  const Shape& s = input.shape;
  if (!(s == input_shape_) || input.n < 0 || input.data.size() != to_size(input.n * s.size()))
    throw InputError(engine() + " engine: input of shape [" + std::to_string(s.c) + ", " +
                     std::to_string(s.h) + ", " + std::to_string(s.w) + "] x " + std::to_string(input.n) +
                     " (" + std::to_string(input.data.size()) + " values), the model takes [" +
                     std::to_string(input_shape_.c) + ", " + std::to_string(input_shape_.h) + ", " +
                     std::to_string(input_shape_.w) + "]");
  for (std::size_t i = 0; i < input.data.size(); ++i)
    if (!std::isfinite(input.data[i]))
      throw InputError(engine() + " engine: input element " + std::to_string(i) + " is not finite");
}

// oneDNN runs its OpenMP regions with the plan's thread count; the caller's setting comes back afterwards.
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads([[maybe_unused]] int threads) {
#ifdef _OPENMP
    previous_ = omp_get_max_threads();
    omp_set_num_threads(threads);
#endif
  }
  ~ScopedOmpThreads() {
#ifdef _OPENMP
    omp_set_num_threads(previous_);
#endif
  }
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  [[maybe_unused]] int previous_ = 1;
};

void OnednnPlan::execute(const FloatBatch& input, std::map<std::size_t, IntBatch>* accumulators) {
  check_input(input);
  const int64_t n = input.n;
  if (n == 0) {  // oneDNN takes no empty batch; the logits of no image are empty
    logits_ = FloatBatch(0, output_shape_);
    return;
  }
  ScopedOmpThreads threads(threads_);
  if (n != planned_n_) plan_batch(n);
  for (Step& s : steps_) {
    const Layer& l = s.layer;
    float* y = values_.at(l.output).data();
    const float* x = value(l.inputs.front(), input);
    IntBatch* acc = nullptr;
    // Integer sums only: the fp32 engine's f32 sums of dequantised values are not the accumulators.
    const bool integer_sums = s.kind == StepKind::kIntegerLoops ||
                              (s.kind == StepKind::kOnednn && s.conv->mode() != OnednnConvMode::kFp32);
    if (accumulators != nullptr && integer_sums) acc = &(*accumulators)[s.index];
    switch (s.kind) {
      case StepKind::kOnednn:
        s.conv->run(x, y, stream_, acc);
        break;
      case StepKind::kIntegerLoops: {
        const deploy::Conv& c = l.conv;
        IntBatch codes(n, s.in_shapes.front());
        for (std::size_t i = 0; i < codes.data.size(); ++i)
          codes.data[i] = deploy::quantize_activation(x[i], c.input_quant);
        IntBatch result = deploy::integer_accumulators(l, codes);
        const std::size_t plane = to_size(s.out_shape.h * s.out_shape.w);
        for (std::size_t i = 0; i < result.data.size(); ++i) {
          const std::size_t o = i / plane % to_size(s.out_shape.c);
          y[i] = activate(static_cast<float>(result.data[i]) * c.mul[o] + c.bias[o], l.activation);
        }
        if (acc != nullptr) *acc = std::move(result);
        break;
      }
      case StepKind::kFloatLoops:
        run_float_loops(s, x, y, n);
        break;
      case StepKind::kOther:
        inputs_.clear();  // keeps its capacity: no allocation after the first run
        for (int v : l.inputs) inputs_.push_back(value(v, input));
        run_other(s, inputs_, y, n);
        break;
    }
  }
  logits_.n = n;
  logits_.shape = output_shape_;
  const float* logits = value(output_, input);
  logits_.data.assign(logits, logits + to_size(n * output_shape_.size()));
}

void OnednnPlan::run_other(const Step& s, const std::vector<const float*>& in, float* y, int64_t n) {
  const Layer& l = s.layer;
  const Shape& is = s.in_shapes.front();
  const Shape& os = s.out_shape;
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
    case Op::Add:
      for (std::size_t e = 0; e < to_size(n * os.size()); ++e) {
        float sum = x[e];
        for (std::size_t i = 1; i < in.size(); ++i) sum += in[i][e];
        y[e] = activate(sum, l.activation);
      }
      return;
    case Op::Concat:
      for (int64_t b = 0; b < n; ++b) {
        float* dst = y + to_size(b * os.size());
        for (std::size_t p = 0; p < in.size(); ++p) {
          const std::size_t part = to_size(s.in_shapes[p].size());
          dst = std::copy(in[p] + to_size(b) * part, in[p] + to_size(b + 1) * part, dst);
        }
      }
      return;
    case Op::MaxPool:
    case Op::AvgPool:
      run_pool(s, x, y, n);
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
      std::fill(y, y + to_size(n * os.size()), 0.0f);
      for (int64_t b = 0; b < n; ++b)
        for (int64_t c = 0; c < is.c; ++c)
          for (int64_t i = 0; i < os.h; ++i)
            for (int64_t j = 0; j < os.w; ++j)
              y[to_size(((b * os.c + p.pad_before + c) * os.h + i) * os.w + j)] =
                  x[to_size(((b * is.c + c) * is.h + i * p.stride) * is.w + j * p.stride)];
      return;
    }
    case Op::Conv2d:
    case Op::Linear:
      break;
  }
  throw InputError(l.name + ": not a loop op");
}

void OnednnPlan::run_pool(const Step& s, const float* x, float* y, int64_t n) {
  const deploy::Pool& p = s.layer.pool;
  const Shape& in = s.in_shapes.front();
  const Shape& out = s.out_shape;
  for (int64_t bc = 0; bc < n * in.c; ++bc) {
    const float* plane = x + to_size(bc * in.h * in.w);
    for (int64_t oy = 0; oy < out.h; ++oy)
      for (int64_t ox = 0; ox < out.w; ++ox) {
        // torch's window: clipped to the padded input (the avg divisor), then to the input.
        const int64_t y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
        const int64_t y1 = std::min(y0 + p.kernel_h, in.h + p.pad_h),
                      x1 = std::min(x0 + p.kernel_w, in.w + p.pad_w);
        const int64_t ya = std::max<int64_t>(y0, 0), yb = std::min(y1, in.h);
        const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min(x1, in.w);
        float& dst = y[to_size((bc * out.h + oy) * out.w + ox)];
        if (s.layer.op == Op::MaxPool) {
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

void OnednnPlan::run_float_loops(const Step& s, const float* x, float* y, int64_t n) {
  // Double products (exact) summed in the reference's order and rounded to float once: its very floats.
  const deploy::Conv& c = s.layer.conv;
  const Shape& in = s.in_shapes.front();
  const Shape& out = s.out_shape;
  const bool quantized = c.input_quant.kind != ActKind::None;
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
            const float* plane = x + to_size((b * in.c + group * in_per_group + ci) * in.h * in.w);
            for (int64_t ky = 0; ky < c.kernel_h; ++ky) {
              const int64_t iy = oy * c.stride_h - c.pad_h + ky;
              if (iy < 0 || iy >= in.h) continue;  // padding: 0
              for (int64_t kx = 0; kx < c.kernel_w; ++kx) {
                const int64_t ix = ox * c.stride_w - c.pad_w + kx;
                if (ix < 0 || ix >= in.w) continue;
                const float v = plane[iy * in.w + ix];
                const double a =
                    quantized ? deploy::quantize_activation(v, c.input_quant) : static_cast<double>(v);
                sum += static_cast<double>(w[(ci * c.kernel_h + ky) * c.kernel_w + kx]) * a;
              }
            }
          }
          const auto oc = to_size(o);
          y[to_size(((b * out.c + o) * out.h + oy) * out.w + ox)] =
              activate(static_cast<float>(sum) * c.mul[oc] + c.bias[oc], s.layer.activation);
        }
    }
}

}  // namespace

std::unique_ptr<Plan> plan_onednn_fp32(const deploy::Model& model, const PlanOptions& options) {
  return std::make_unique<OnednnPlan>(model, options, false);
}

std::unique_ptr<Plan> plan_onednn_int8(const deploy::Model& model, const PlanOptions& options) {
  return std::make_unique<OnednnPlan>(model, options, true);
}

}  // namespace r2q::backends::cpu
