// The oneDNN engines' plan: one step per layer over one buffer per value.
// Conv/linear layers run as OnednnConv primitives (or, in the int8 engine, loops where no primitive is
// exact); every other op runs the shared loops of float_ops.h, in the reference interpreter's order and
// precision.
#include "backends/cpu/onednn_engine.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "backends/cpu/float_ops.h"
#include "backends/cpu/onednn_conv.h"
#include "core/deploy/codes.h"
#include "core/deploy/reference.h"
#include "core/util/error.h"

namespace r2q::backends::cpu {
namespace {

using deploy::ActKind;
using deploy::FloatBatch;
using deploy::IntBatch;
using deploy::Layer;
using deploy::Op;
using deploy::Shape;

enum class StepKind { kOnednn, kIntegerLoops, kFloatLoops, kAffineLoops, kOther };

struct Step {
  StepKind kind = StepKind::kOther;
  std::size_t index = 0;
  Layer layer;  // attributes; weight tensors only for kIntegerLoops
  std::vector<Shape> in_shapes;
  Shape out_shape;
  std::optional<OnednnConv> conv;  // kOnednn
  std::vector<float> weights;      // kFloatLoops: [O, K] (codes are exact in float)
  AffineLayer affine;              // kAffineLoops
  std::string path;
};

class OnednnPlan final : public ExecutingPlan {
 public:
  OnednnPlan(const deploy::Model& model, const PlanOptions& options, bool int8);

  std::string engine() const override { return int8_ ? "onednn-int8" : "onednn-fp32"; }
  std::size_t weight_bytes() const override { return weight_bytes_; }
  std::vector<std::string> layer_paths() const override;

 private:
  void plan_conv(Step& s, const Shape& in);
  void plan_batch(int64_t n);
  void execute(const FloatBatch& input, std::map<std::size_t, IntBatch>* accumulators) override;
  const float* value(int id, const FloatBatch& input) const {
    return id == deploy::kInputValue ? input.data.data() : values_.at(id).data();
  }

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
  std::vector<const float*> inputs_;   // of the step being run
  std::vector<double> x_double_;       // kFloatLoops: the input in double
  std::vector<float> affine_scratch_;  // kAffineLoops
  Isa float_isa_;                      // kFloatLoops: the float GEMM's kernel (options.isa, resolved)
};

OnednnPlan::OnednnPlan(const deploy::Model& model, const PlanOptions& options, bool int8)
    : int8_(int8),
      threads_(options.threads),
      dnnl_engine_(dnnl::engine::kind::cpu, 0),
      stream_(dnnl_engine_),
      float_isa_(resolve_isa(parse_isa(options.isa))) {
  const std::map<int, Shape> shapes = deploy::validate(model);
  layer_count_ = model.layers.size();
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
    onednn(OnednnConvMode::Fp32, "f32");
    return;
  }
  if (std::optional<AffineLayer> affine = prepare_affine_layer(c, in, float_isa_)) {
    // The first layer on pixel codes with its input affine: the shift-add engine's loops (integer sums).
    s.kind = StepKind::kAffineLoops;
    s.affine = std::move(*affine);
    weight_bytes_ += s.affine.weight_bytes();
    s.path += ": integer loops on pixel codes " + bits_label(c) + ", input affine";
    return;
  }
  if (!c.integer()) {
    // A float side: loops in double as the reference, so that the next quantizer sees its exact floats.
    s.kind = StepKind::kFloatLoops;
    s.weights = take_float_loop_weights(c);
    weight_bytes_ += s.weights.size() * sizeof(float);
    s.path += float_loops_label(c);
    return;
  }
  const std::string int8_why = int8_refusal(c);
  if (int8_why.empty()) {
    onednn(OnednnConvMode::Int8,
           std::string(c.input_quant.kind == ActKind::Signed ? "s8" : "u8") + "s8s32 " + bits_label(c));
    return;
  }
  const std::string f32_why = exact_f32_refusal(c);
  if (f32_why.empty()) {
    onednn(OnednnConvMode::ExactF32, "exact f32 " + bits_label(c) + " (not int8: " + int8_why + ")");
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
  check_input(input, input_shape_, engine());
  const int64_t n = input.n;
  if (n == 0) {  // oneDNN takes no empty batch; the logits of no image are empty
    logits_ = FloatBatch(0, output_shape_);
    return;
  }
  ScopedOmpThreads threads(threads_);
  if (n != planned_n_) plan_batch(n);
  for (Step& s : steps_) {
    const LayerTimer timer(profile_, s.index);
    const Layer& l = s.layer;
    float* y = values_.at(l.output).data();
    const float* x = value(l.inputs.front(), input);
    IntBatch* acc = nullptr;
    // Integer sums only: the fp32 engine's f32 sums of dequantised values are not the accumulators.
    const bool integer_sums = s.kind == StepKind::kIntegerLoops || s.kind == StepKind::kAffineLoops ||
                              (s.kind == StepKind::kOnednn && s.conv->mode() != OnednnConvMode::Fp32);
    if (accumulators != nullptr && integer_sums) acc = &(*accumulators)[s.index];
    switch (s.kind) {
      case StepKind::kOnednn:
        s.conv->run(x, y, stream_, acc);
        break;
      case StepKind::kIntegerLoops:
        run_integer_loops(l, s.in_shapes.front(), x, y, n, acc);
        break;
      case StepKind::kFloatLoops:
        run_float_loops(l, s.weights.data(), s.in_shapes.front(), s.out_shape, x, y, n, x_double_,
                        float_isa_);
        break;
      case StepKind::kAffineLoops:
        run_affine_layer(l, s.affine, s.in_shapes.front(), s.out_shape, x, y, n, affine_scratch_, x_double_,
                         float_isa_, false, acc);
        break;
      case StepKind::kOther:
        inputs_.clear();  // keeps its capacity: no allocation after the first run
        for (int v : l.inputs) inputs_.push_back(value(v, input));
        run_other(l, inputs_, s.in_shapes, s.out_shape, y, n);
        break;
    }
  }
  logits_.n = n;
  logits_.shape = output_shape_;
  const float* logits = value(output_, input);
  logits_.data.assign(logits, logits + to_size(n * output_shape_.size()));
}

}  // namespace

std::unique_ptr<Plan> plan_onednn_fp32(const deploy::Model& model, const PlanOptions& options) {
  return std::make_unique<OnednnPlan>(model, options, false);
}

std::unique_ptr<Plan> plan_onednn_int8(const deploy::Model& model, const PlanOptions& options) {
  return std::make_unique<OnednnPlan>(model, options, true);
}

}  // namespace r2q::backends::cpu
