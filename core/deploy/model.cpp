// Names of the IR's enums and validate(): the checks shared by the model writer and the loader.
#include "core/deploy/model.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "core/deploy/codes.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::deploy {
namespace {

constexpr std::array<std::pair<Op, std::string_view>, 10> kOps = {
    {{Op::Normalize, "normalize"},
     {Op::Conv2d, "conv2d"},
     {Op::Linear, "linear"},
     {Op::Add, "add"},
     {Op::Concat, "concat"},
     {Op::MaxPool, "max_pool"},
     {Op::AvgPool, "avg_pool"},
     {Op::GlobalAvgPool, "global_avg_pool"},
     {Op::Flatten, "flatten"},
     {Op::ChannelPadSubsample, "channel_pad_subsample"}}};
constexpr std::array<std::pair<Activation, std::string_view>, 3> kActivations = {
    {{Activation::None, "none"}, {Activation::Relu, "relu"}, {Activation::Relu6, "relu6"}}};
constexpr std::array<std::pair<ActKind, std::string_view>, 3> kActKinds = {
    {{ActKind::None, "none"}, {ActKind::Unsigned, "unsigned"}, {ActKind::Signed, "signed"}}};
constexpr std::array<std::pair<WeightFormat, std::string_view>, 3> kWeightFormats = {
    {{WeightFormat::Float, "float"},
     {WeightFormat::OddPlanes, "odd_planes"},
     {WeightFormat::IntCodes, "int8"}}};

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [e, name] : table)
    if (e == value) return name;
  return "?";
}

template <typename E, std::size_t N>
E parse(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view name,
        const std::string& where, const char* what) {
  std::string known;
  for (const auto& [e, n] : table) {
    if (n == name) return e;
    known += (known.empty() ? "" : ", ") + std::string(n);
  }
  throw InputError(where + ": unknown " + what + " " + quoted_value(name) + " (known: " + known + ")");
}

// Dimensions are bounded so that products of three stay far from int64 overflow.
constexpr int64_t kMaxDim = int64_t{1} << 20;
// Weights per conv/linear layer (4 Gi).
constexpr int64_t kMaxWeights = int64_t{1} << 32;
// Elements of one image's input or of any value a layer computes (64 Mi, 256 MiB as floats; an ImageNet
// ResNet-18's largest is 0.8 Mi): an engine allocates them for every image of a batch.
constexpr int64_t kMaxValueElements = int64_t{1} << 26;

std::string str(int64_t v) {
  return std::to_string(v);
}

// The shortest text that reads back as the same float.
std::string float_text(float v) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return ec == std::errc() ? std::string(buffer, end) : "?";
}

int64_t elements(const Shape& s) {
  return s.c * s.h * s.w;  // each at most kMaxDim = 2^20: no overflow
}

std::string str(const Shape& s) {
  return "[" + str(s.c) + ", " + str(s.h) + ", " + str(s.w) + "]";
}

class Checker {
 public:
  Checker(const Model& model, const std::string& source) : model_(model), source_(source) {}

  std::map<int, Shape> run() {
    if (model_.input.c < 1 || model_.input.c > kMaxDim || model_.input.h < 1 || model_.input.h > kMaxDim ||
        model_.input.w < 1 || model_.input.w > kMaxDim)
      fail("input shape " + str(model_.input) + " is not a valid [C, H, W]");
    if (elements(model_.input) > kMaxValueElements)
      fail("input shape " + str(model_.input) + ": " + str(elements(model_.input)) +
           " elements per image, more than " + str(kMaxValueElements));
    if (model_.layers.empty()) fail("the model has no layers");
    if (!model_.metadata.is_object()) fail("metadata: must be a JSON object");
    shapes_[kInputValue] = model_.input;
    std::set<std::string> names;
    for (index_ = 0; index_ < model_.layers.size(); ++index_) {
      const Layer& layer = model_.layers[index_];
      if (layer.name.empty()) fail_layer("name", "is empty");
      if (!names.insert(layer.name).second) fail_layer("name", "is used by an earlier layer too");
      check_layer(layer);
    }
    if (!shapes_.contains(model_.output))
      fail("output: value " + str(model_.output) + " is not defined by any layer");
    const Shape& out = shapes_.at(model_.output);
    if (model_.output == kInputValue || out.h != 1 || out.w != 1)
      fail("output: value " + str(model_.output) + " has shape " + str(out) +
           ", logits must be [classes, 1, 1]");
    // Metadata is free-form, but readers take the class count from it: it must be the logits' count.
    if (const auto classes = model_.metadata.find("classes"); classes != model_.metadata.end())
      if (!classes->is_number_integer() || classes->get<int64_t>() != out.c)
        fail("metadata.classes: " + classes->dump() + " is not the model's number of outputs (" + str(out.c) +
             ")");
    return shapes_;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw InputError(source_ + ": " + what); }
  [[noreturn]] void fail_layer(const std::string& field, const std::string& what) const {
    fail(describe_layer(model_, index_) + ": " + field + ": " + what);
  }

  void check_dim(const std::string& field, int64_t v, int64_t min) const {
    if (v < min || v > kMaxDim)
      fail_layer(field, str(v) + " is out of range [" + str(min) + ", " + str(kMaxDim) + "]");
  }

  void check_finite(const std::string& field, const std::vector<float>& values, std::size_t expected,
                    const std::string& expected_text) const {
    if (values.size() != expected)
      fail_layer(field, str(static_cast<int64_t>(values.size())) + " values, expected " + expected_text);
    for (std::size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        fail_layer(field, "element " + str(static_cast<int64_t>(i)) + " is not finite");
  }

  void check_layer(const Layer& l) {
    const bool one_input = l.op != Op::Add && l.op != Op::Concat;
    if (one_input && l.inputs.size() != 1)
      fail_layer("inputs", str(static_cast<int64_t>(l.inputs.size())) + " values, " +
                               std::string(to_string(l.op)) + " takes 1");
    if (!one_input && l.inputs.size() < 2)
      fail_layer("inputs", str(static_cast<int64_t>(l.inputs.size())) + " values, " +
                               std::string(to_string(l.op)) + " takes 2 or more");
    std::vector<Shape> in;
    for (int v : l.inputs) {
      auto it = shapes_.find(v);
      if (it == shapes_.end()) fail_layer("inputs", "value " + str(v) + " is used before it is defined");
      in.push_back(it->second);
    }
    if (l.output <= kInputValue)
      fail_layer("output", "value " + str(l.output) + " (must be > 0, 0 is the input)");
    if (shapes_.contains(l.output)) fail_layer("output", "value " + str(l.output) + " is already defined");

    const bool conv_like = l.op == Op::Conv2d || l.op == Op::Linear;
    const bool pool = l.op == Op::MaxPool || l.op == Op::AvgPool;
    if (!conv_like && l.op != Op::Add && l.activation != Activation::None)
      fail_layer("activation", std::string(to_string(l.op)) + " has no fused activation");
    if (!conv_like && !(l.conv == Conv{}))
      fail_layer("conv", "set on a " + std::string(to_string(l.op)) + " layer");
    if (!pool && !(l.pool == Pool{}))
      fail_layer("pool", "set on a " + std::string(to_string(l.op)) + " layer");
    if (l.op == Op::MaxPool && !l.pool.count_include_pad)
      fail_layer("count_include_pad", "applies to avg_pool only");
    if (l.op != Op::ChannelPadSubsample && !(l.shortcut == PadSubsample{}))
      fail_layer("shortcut", "set on a " + std::string(to_string(l.op)) + " layer");
    if (l.op != Op::Normalize && !(l.normalize == NormalizeParams{}))
      fail_layer("normalize", "set on a " + std::string(to_string(l.op)) + " layer");

    Shape out;
    switch (l.op) {
      case Op::Normalize:
        check_finite("mean", l.normalize.mean, static_cast<std::size_t>(in[0].c),
                     str(in[0].c) + " (channels)");
        check_finite("inv_std", l.normalize.inv_std, static_cast<std::size_t>(in[0].c),
                     str(in[0].c) + " (channels)");
        out = in[0];
        break;
      case Op::Conv2d:
      case Op::Linear:
        out = check_conv(l, in[0]);
        break;
      case Op::Add:
        for (std::size_t i = 1; i < in.size(); ++i)
          if (!(in[i] == in[0]))
            fail_layer("inputs", "value " + str(l.inputs[i]) + " has shape " + str(in[i]) + ", value " +
                                     str(l.inputs[0]) + " has " + str(in[0]));
        out = in[0];
        break;
      case Op::Concat:
        out = {0, in[0].h, in[0].w};
        for (std::size_t i = 0; i < in.size(); ++i) {
          if (in[i].h != in[0].h || in[i].w != in[0].w)
            fail_layer("inputs", "value " + str(l.inputs[i]) + " has shape " + str(in[i]) + ", value " +
                                     str(l.inputs[0]) + " has " + str(in[0]) + " (H x W must agree)");
          out.c += in[i].c;
        }
        if (out.c > kMaxDim) fail_layer("inputs", str(out.c) + " channels in all");
        break;
      case Op::MaxPool:
      case Op::AvgPool:
        out = check_pool(l.pool, in[0]);
        break;
      case Op::GlobalAvgPool:
        out = {in[0].c, 1, 1};
        break;
      case Op::Flatten:
        out = {in[0].size(), 1, 1};
        break;
      case Op::ChannelPadSubsample:
        check_dim("stride", l.shortcut.stride, 1);
        check_dim("pad_before", l.shortcut.pad_before, 0);
        check_dim("pad_after", l.shortcut.pad_after, 0);
        out = {l.shortcut.pad_before + in[0].c + l.shortcut.pad_after, (in[0].h - 1) / l.shortcut.stride + 1,
               (in[0].w - 1) / l.shortcut.stride + 1};
        if (out.c > kMaxDim) fail_layer("pad_after", str(out.c) + " channels in all");
        break;
      default:
        fail_layer("op", "unknown op " + str(static_cast<int64_t>(l.op)));
    }
    if (elements(out) > kMaxValueElements)
      fail_layer("output", "shape " + str(out) + ": " + str(elements(out)) +
                               " elements per image, more than " + str(kMaxValueElements));
    shapes_[l.output] = out;
  }

  Shape check_conv(const Layer& l, const Shape& in) const {
    const Conv& c = l.conv;
    const bool linear = l.op == Op::Linear;
    check_dim(linear ? "in_features" : "in_channels", c.in_channels, 1);
    check_dim(linear ? "out_features" : "out_channels", c.out_channels, 1);
    if (c.in_channels != in.c)
      fail_layer(linear ? "in_features" : "in_channels",
                 str(c.in_channels) + ", but input value " + str(l.inputs[0]) + " has shape " + str(in));
    if (linear) {
      if (in.h != 1 || in.w != 1)
        fail_layer("inputs", "value " + str(l.inputs[0]) + " has shape " + str(in) +
                                 ", linear needs [F, 1, 1] (add a flatten or global_avg_pool)");
      if (c.kernel_h != 1 || c.kernel_w != 1 || c.stride_h != 1 || c.stride_w != 1 || c.pad_h != 0 ||
          c.pad_w != 0 || c.groups != 1)
        fail_layer("kernel", "a linear layer has kernel 1, stride 1, padding 0, groups 1");
    }
    check_dim("groups", c.groups, 1);
    check_dim("kernel_h", c.kernel_h, 1);
    check_dim("kernel_w", c.kernel_w, 1);
    check_dim("stride_h", c.stride_h, 1);
    check_dim("stride_w", c.stride_w, 1);
    check_dim("pad_h", c.pad_h, 0);
    check_dim("pad_w", c.pad_w, 0);
    if (c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0)
      fail_layer("groups", str(c.groups) + " does not divide in_channels " + str(c.in_channels) +
                               " and out_channels " + str(c.out_channels));
    if (in.h + 2 * c.pad_h < c.kernel_h || in.w + 2 * c.pad_w < c.kernel_w)
      fail_layer("kernel",
                 str(c.kernel_h) + "x" + str(c.kernel_w) + " is larger than the padded input " + str(in));
    // O x K in floating point: the int64 product of four bounded dimensions could overflow.
    const double weights = static_cast<double>(c.out_channels) *
                           static_cast<double>(c.in_channels / c.groups) * static_cast<double>(c.kernel_h) *
                           static_cast<double>(c.kernel_w);
    if (weights > static_cast<double>(kMaxWeights))
      fail_layer("weights",
                 "out_channels x K = " + std::to_string(weights) + " weights, more than " + str(kMaxWeights));
    check_input_quant(c.input_quant);
    check_weights(c);
    const auto o = static_cast<std::size_t>(c.out_channels);
    check_finite("mul", c.mul, o, str(c.out_channels) + " (out channels)");
    check_finite("bias", c.bias, o, str(c.out_channels) + " (out channels)");
    const InputAffine& affine = c.input_affine;
    if (affine.on) {
      if (!c.integer()) fail_layer("input_affine", "needs integer input codes and integer weights");
      if (c.groups != 1) fail_layer("input_affine", "needs groups 1, found " + str(c.groups));
      const auto channels = static_cast<std::size_t>(c.in_channels);
      check_finite("input_offset", affine.offset, channels, str(c.in_channels) + " (in channels)");
      check_finite("input_mul", affine.mul, channels, str(c.in_channels) + " (in channels)");
    } else if (!affine.offset.empty() || !affine.mul.empty()) {
      fail_layer("input_affine", "input_offset / input_mul are set but input_affine is off");
    }
    if (c.integer()) {
      const InputQuant& q = c.input_quant;
      const int64_t max_a = std::max(std::abs(int64_t{q.min_code}), std::abs(int64_t{q.max_code}));
      const int64_t bound = c.k() * max_abs_weight_code(c.weights) * max_a;
      if (bound > std::numeric_limits<int32_t>::max())
        fail_layer("weights",
                   "an accumulator can reach " + str(bound) + " and overflow int32 (K = " + str(c.k()) + ")");
    }
    return {c.out_channels, (in.h + 2 * c.pad_h - c.kernel_h) / c.stride_h + 1,
            (in.w + 2 * c.pad_w - c.kernel_w) / c.stride_w + 1};
  }

  void check_input_quant(const InputQuant& q) const {
    if (q.kind == ActKind::None) {
      if (!(q == InputQuant{})) fail_layer("input_quant", "kind none takes no bits, scale or codes");
      return;
    }
    const int min_bits = q.kind == ActKind::Signed ? 2 : 1;
    if (q.bits < min_bits || q.bits > 8)
      fail_layer("input_quant.bits", str(q.bits) + " is out of range for " + std::string(to_string(q.kind)) +
                                         " codes [" + str(min_bits) + ", 8]");
    if (!std::isfinite(q.scale) || q.scale <= 0)
      fail_layer("input_quant.scale", float_text(q.scale) + " is not a finite positive number");
    const int32_t lo = kind_min_code(q.kind, q.bits), hi = kind_max_code(q.kind, q.bits);
    if (q.min_code < lo || q.max_code > hi || q.min_code > 0 || q.max_code <= 0)
      fail_layer("input_quant", "codes [" + str(q.min_code) + ", " + str(q.max_code) + "] must lie in [" +
                                    str(lo) + ", " + str(hi) + "] and contain 0 and 1");
  }

  void check_weights(const Conv& c) const {
    const Weights& w = c.weights;
    const int64_t ok = c.out_channels * c.k();
    const std::string ok_text =
        str(ok) + " (" + str(c.out_channels) + " out channels x K " + str(c.k()) + ")";
    switch (w.format) {
      case WeightFormat::Float:
        if (w.bits != 0) fail_layer("weights.bits", str(w.bits) + ", float weights have none (0)");
        if (!w.planes.empty() || !w.codes.empty() || !w.scale.empty())
          fail_layer("weights", "float weights have values only (no planes, codes or scale)");
        check_finite("weights.values", w.values, static_cast<std::size_t>(ok), ok_text);
        return;
      case WeightFormat::OddPlanes:
        if (w.bits < 1 || w.bits > 8) fail_layer("weights.bits", str(w.bits) + " is out of range [1, 8]");
        if (!w.values.empty() || !w.codes.empty())
          fail_layer("weights", "odd_planes weights have planes only");
        try {
          unpack_odd_planes(w.planes, c.out_channels, c.k(), w.bits);
        } catch (const InputError& e) {
          fail_layer("weights.planes", e.what());
        }
        break;
      case WeightFormat::IntCodes: {
        if (w.bits < 2 || w.bits > 8) fail_layer("weights.bits", str(w.bits) + " is out of range [2, 8]");
        if (!w.values.empty() || !w.planes.empty()) fail_layer("weights", "int8 weights have codes only");
        if (static_cast<int64_t>(w.codes.size()) != ok)
          fail_layer("weights.codes",
                     str(static_cast<int64_t>(w.codes.size())) + " codes, expected " + ok_text);
        const int lo = -(1 << (w.bits - 1)), hi = (1 << (w.bits - 1)) - 1;
        for (std::size_t i = 0; i < w.codes.size(); ++i)
          if (w.codes[i] < lo || w.codes[i] > hi)
            fail_layer("weights.codes", "code " + str(w.codes[i]) + " at [" +
                                            str(static_cast<int64_t>(i) / c.k()) + ", " +
                                            str(static_cast<int64_t>(i) % c.k()) + "] is outside [" +
                                            str(lo) + ", " + str(hi) + "] of " + str(w.bits) + "-bit codes");
        break;
      }
      default:
        fail_layer("weights.format", "unknown format " + str(static_cast<int64_t>(w.format)));
    }
    check_finite("weights.scale", w.scale, static_cast<std::size_t>(c.out_channels),
                 str(c.out_channels) + " (out channels)");
  }

  Shape check_pool(const Pool& p, const Shape& in) const {
    check_dim("kernel_h", p.kernel_h, 1);
    check_dim("kernel_w", p.kernel_w, 1);
    check_dim("stride_h", p.stride_h, 1);
    check_dim("stride_w", p.stride_w, 1);
    check_dim("pad_h", p.pad_h, 0);
    check_dim("pad_w", p.pad_w, 0);
    if (2 * p.pad_h > p.kernel_h || 2 * p.pad_w > p.kernel_w)
      fail_layer("padding",
                 "must be at most half the kernel (" + str(p.kernel_h) + "x" + str(p.kernel_w) + ")");
    auto extent = [&](int64_t size, int64_t k, int64_t s, int64_t pad, const char* field) {
      int64_t span = size + 2 * pad - k;
      if (span < 0) fail_layer(field, "kernel " + str(k) + " is larger than the padded input " + str(in));
      int64_t n = (p.ceil_mode ? (span + s - 1) / s : span / s) + 1;
      if (p.ceil_mode && (n - 1) * s >= size + pad) --n;  // the last window would start in the padding
      return n;
    };
    return {in.c, extent(in.h, p.kernel_h, p.stride_h, p.pad_h, "kernel_h"),
            extent(in.w, p.kernel_w, p.stride_w, p.pad_w, "kernel_w")};
  }

  const Model& model_;
  const std::string& source_;
  std::size_t index_ = 0;
  std::map<int, Shape> shapes_;
};

}  // namespace

std::string_view to_string(Op op) {
  return name_of(kOps, op);
}
std::string_view to_string(Activation activation) {
  return name_of(kActivations, activation);
}
std::string_view to_string(ActKind kind) {
  return name_of(kActKinds, kind);
}
std::string_view to_string(WeightFormat format) {
  return name_of(kWeightFormats, format);
}

Op parse_op(std::string_view name, const std::string& where) {
  return parse(kOps, name, where, "op");
}
Activation parse_activation(std::string_view name, const std::string& where) {
  return parse(kActivations, name, where, "activation");
}
ActKind parse_act_kind(std::string_view name, const std::string& where) {
  return parse(kActKinds, name, where, "input_quant kind");
}
WeightFormat parse_weight_format(std::string_view name, const std::string& where) {
  return parse(kWeightFormats, name, where, "weights format");
}

std::string describe_layer(const Model& model, std::size_t index) {
  std::string out = "layer " + std::to_string(index);
  if (index < model.layers.size() && !model.layers[index].name.empty())
    out += " '" + model.layers[index].name + "'";
  return out;
}

std::map<int, Shape> validate(const Model& model, const std::string& source) {
  return Checker(model, source).run();
}

}  // namespace r2q::deploy
