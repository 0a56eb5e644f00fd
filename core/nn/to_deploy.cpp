// The LibTorch -> deployment IR converter: integer codes from core/quant/export.h, BatchNorm folded into
// mul/bias.
#include "core/nn/to_deploy.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/deploy/codes.h"
#include "core/deploy/input_affine.h"
#include "core/quant/export.h"
#include "core/util/error.h"

namespace r2q::nn {

// The converter builds the deployment IR: its types are used unqualified here.
using namespace r2q::deploy;

namespace {

std::vector<float> to_floats(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous().flatten();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

std::vector<int32_t> to_ints(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kInt32).contiguous().flatten();
  return {c.data_ptr<int32_t>(), c.data_ptr<int32_t>() + c.numel()};
}

// The smallest width whose signed range [-2^(b-1), 2^(b-1) - 1] holds [lo, hi], or 0 above 8 bits.
int signed_bits(int64_t lo, int64_t hi) {
  for (int b = 2; b <= 8; ++b)
    if (lo >= -(int64_t{1} << (b - 1)) && hi <= (int64_t{1} << (b - 1)) - 1) return b;
  return 0;
}

int unsigned_bits(int64_t hi) {
  for (int b = 1; b <= 8; ++b)
    if (hi <= (int64_t{1} << b) - 1) return b;
  return 0;
}

// Floats around every rounding boundary (ties c + 0.5) and clamp edge of `q`. A quantizer whose codes are
// the nearest integers to some float computation of x / scale (x * qmax / alpha, clamp(x, 0, 1) * qmax, ...)
// can disagree with the IR's rule only within a few ulps of a tie: 16 ulps either side of each tie makes the
// check exhaustive for such quantizers, and any other rounding rule shows up on the grid points.
std::vector<float> rounding_probe(const InputQuant& q) {
  std::vector<float> v = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e30f, -1e30f};
  for (int64_t c = q.min_code - 1; c <= q.max_code + 1; ++c) {
    for (float frac : {0.0f, 0.25f, 0.5f, 0.75f}) {
      const float t = (static_cast<float>(c) + frac) * q.scale;
      float up = t, down = t;
      v.push_back(t);
      for (int i = 0; i < (frac == 0.5f ? 16 : 2); ++i) {
        up = std::nextafter(up, std::numeric_limits<float>::infinity());
        down = std::nextafter(down, -std::numeric_limits<float>::infinity());
        v.push_back(up);
        v.push_back(down);
      }
    }
  }
  return v;
}

// Why `quantizer`'s codes differ from the IR's rounding rule under `q`, or "" when they agree on the probe.
std::string rounding_mismatch(quant::Quantizer* quantizer, const InputQuant& q) {
  const std::vector<float> probe = rounding_probe(q);
  torch::Tensor x = torch::tensor(probe, torch::kFloat32);
  const std::vector<int32_t> torch_codes = to_ints(quant::activation_codes(x, quantizer));
  for (std::size_t i = 0; i < probe.size(); ++i) {
    const int32_t ir = quantize_activation(probe[i], q);
    if (ir != torch_codes[i]) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "x = %.9g: the quantizer gives code %d, the IR's rule %d", probe[i],
                    torch_codes[i], ir);
      return quantizer->describe() + " rounds differently from the IR (" + buf + ")";
    }
  }
  return "";
}

class TorchBuilder : public DeployBuilder {
 public:
  Model model;

  int normalize(const std::string& name, const nn::NormalizeImpl& n, int x) override {
    Layer& l = add_layer(Op::Normalize, name, {x});
    l.normalize.mean = to_floats(n.mean());
    l.normalize.inv_std = to_floats(n.inv_std());
    return l.output;
  }

  int conv(const std::string& name, const quant::QConv2dImpl& conv, const torch::nn::BatchNorm2dImpl* bn,
           Activation activation, int x) override {
    const quant::ConvSpec& s = conv.spec();
    Layer& l = add_layer(Op::Conv2d, name, {x});
    l.activation = activation;
    Conv& c = l.conv;
    c.in_channels = s.in;
    c.out_channels = s.out;
    c.kernel_h = c.kernel_w = s.kernel;
    c.stride_h = c.stride_w = s.stride;
    c.pad_h = c.pad_w = s.padding;
    c.groups = s.groups;
    const auto probe = torch::ones({1, s.in, s.kernel, s.kernel});
    fill(l, conv.weight, conv.bias, conv.weight_quantizer(), conv.input_quantizer(), bn, probe);
    return l.output;
  }

  int linear(const std::string& name, const quant::QLinearImpl& linear, Activation activation,
             int x) override {
    const quant::LinearSpec& s = linear.spec();
    Layer& l = add_layer(Op::Linear, name, {x});
    l.activation = activation;
    l.conv.in_channels = s.in;
    l.conv.out_channels = s.out;
    fill(l, linear.weight, linear.bias, linear.weight_quantizer(), linear.input_quantizer(), nullptr,
         torch::ones({1, s.in}));
    return l.output;
  }

  int max_pool(const std::string& name, const Pool& pool, int x) override {
    Layer& l = add_layer(Op::MaxPool, name, {x});
    l.pool = pool;
    return l.output;
  }
  int avg_pool(const std::string& name, const Pool& pool, int x) override {
    Layer& l = add_layer(Op::AvgPool, name, {x});
    l.pool = pool;
    return l.output;
  }
  int global_avg_pool(const std::string& name, int x) override {
    return add_layer(Op::GlobalAvgPool, name, {x}).output;
  }
  int flatten(const std::string& name, int x) override { return add_layer(Op::Flatten, name, {x}).output; }
  int add(const std::string& name, const std::vector<int>& xs, Activation activation) override {
    Layer& l = add_layer(Op::Add, name, xs);
    l.activation = activation;
    return l.output;
  }
  int concat(const std::string& name, const std::vector<int>& xs) override {
    return add_layer(Op::Concat, name, xs).output;
  }
  int channel_pad_subsample(const std::string& name, const PadSubsample& shortcut, int x) override {
    Layer& l = add_layer(Op::ChannelPadSubsample, name, {x});
    l.shortcut = shortcut;
    return l.output;
  }

  nlohmann::json float_inputs = nlohmann::json::array();

 private:
  Layer& add_layer(Op op, const std::string& name, std::vector<int> inputs) {
    Layer l;
    l.op = op;
    l.name = name;
    l.inputs = std::move(inputs);
    l.output = next_value_++;
    model.layers.push_back(std::move(l));
    return model.layers.back();
  }

  // Weights, input quantization and the folded epilogue of a conv/linear layer.
  void fill(Layer& l, const torch::Tensor& weight, const torch::Tensor& bias, quant::Quantizer* wq,
            quant::Quantizer* aq, const torch::nn::BatchNorm2dImpl* bn, const torch::Tensor& probe) {
    torch::NoGradGuard no_grad;
    Conv& c = l.conv;
    const int64_t out = c.out_channels;
    const int64_t k = weight.numel() / out;
    const std::string where = "layer '" + l.name + "'";

    // The input: codes when the quantizer's grid and rounding are the IR's, else the float input itself.
    double a_scale = 1.0;
    if (aq) {
      if (aq->output_scale(probe, c.kernel_h, c.stride_h, c.pad_h))
        throw InputError(
            where + ": " + aq->describe() +
            ": the output is scaled by an input-dependent factor, which the deploy IR cannot express");
      std::optional<quant::IntegerActivations> ia;
      try {
        ia = quant::export_activations(aq);
      } catch (const std::logic_error& e) {
        throw InputError(where + ": " + e.what());
      }
      std::string why;
      if (!ia) {
        why = aq->describe() + " has no integer grid";
      } else {
        InputQuant q;
        q.kind = ia->min_code < 0 ? ActKind::Signed : ActKind::Unsigned;
        q.bits =
            q.kind == ActKind::Signed ? signed_bits(ia->min_code, ia->max_code) : unsigned_bits(ia->max_code);
        q.scale = static_cast<float>(ia->scale);
        q.min_code = static_cast<int32_t>(ia->min_code);
        q.max_code = static_cast<int32_t>(ia->max_code);
        if (q.bits == 0 || ia->min_code > 0 || ia->max_code < 1)
          why = aq->describe() + ": code range [" + std::to_string(ia->min_code) + ", " +
                std::to_string(ia->max_code) + "] is not an IR input range";
        else if (static_cast<double>(q.scale) != ia->scale || !std::isfinite(q.scale) || q.scale <= 0)
          why = aq->describe() + ": scale " + std::to_string(ia->scale) + " is not a positive float32";
        else
          why = rounding_mismatch(aq, q);
        if (why.empty()) {
          c.input_quant = q;
          a_scale = q.scale;
        }
      }
      if (!why.empty())
        float_inputs.push_back(
            {{"layer", l.name}, {"reason", why + "; this layer sees its unquantized input when deployed"}});
    }

    // The weights: odd codes as bit-planes, signed codes as int8, else (no integer form) float values.
    std::vector<double> w_scale(static_cast<std::size_t>(out), 1.0);
    std::optional<quant::IntegerWeights> iw = quant::export_weights(weight, wq);
    const int int_bits = iw ? signed_bits(iw->min_code, iw->max_code) : 0;
    if (iw && iw->bitplanes && iw->bits >= 1 && iw->bits <= 8) {
      c.weights.format = WeightFormat::OddPlanes;
      c.weights.bits = iw->bits;
      c.weights.planes = pack_odd_planes(to_ints(iw->codes), out, k, iw->bits);
    } else if (iw && !iw->bitplanes && int_bits > 0) {
      c.weights.format = WeightFormat::IntCodes;
      c.weights.bits = int_bits;
      for (int32_t code : to_ints(iw->codes)) c.weights.codes.push_back(static_cast<int8_t>(code));
    } else {
      iw.reset();
      c.weights.format = WeightFormat::Float;
      c.weights.values = to_floats(wq ? wq->forward(weight) : weight);
    }
    if (iw) {
      c.weights.scale = to_floats(iw->scale);
      for (int64_t o = 0; o < out; ++o) w_scale[o] = c.weights.scale[o];
    }

    // The epilogue: y = acc * mul + bias reproduces BatchNorm(conv(x) + conv bias) in eval mode.
    std::vector<double> gain(static_cast<std::size_t>(out), 1.0), shift(static_cast<std::size_t>(out), 0.0);
    if (bias.defined()) {
      std::vector<float> b = to_floats(bias);
      for (int64_t o = 0; o < out; ++o) shift[o] = b[o];
    }
    if (bn) {
      if (bn->is_training())
        throw std::logic_error(where + ": BatchNorm in training mode; call eval() first");
      const std::vector<float> mean = to_floats(bn->running_mean), var = to_floats(bn->running_var);
      const double eps = bn->options.eps();
      std::vector<float> gamma(out, 1.0f), beta(out, 0.0f);
      if (bn->options.affine()) {
        gamma = to_floats(bn->weight);
        beta = to_floats(bn->bias);
      }
      for (int64_t o = 0; o < out; ++o) {
        gain[o] = gamma[o] / std::sqrt(static_cast<double>(var[o]) + eps);
        shift[o] = (shift[o] - mean[o]) * gain[o] + beta[o];
      }
    }
    c.mul.resize(out);
    c.bias.resize(out);
    for (int64_t o = 0; o < out; ++o) {
      c.mul[o] = static_cast<float>(w_scale[o] * a_scale * gain[o]);
      c.bias[o] = static_cast<float>(shift[o]);
    }
  }

  int next_value_ = kInputValue + 1;
};

}  // namespace

Model to_deploy_model(const nn::Network& network, const Shape& input) {
  if (network.is_training())
    throw std::logic_error("to_deploy_model: the network is in training mode; call eval() first");
  TorchBuilder b;
  b.model.input = input;
  b.model.output = network.to_deploy(b);
  Model model = std::move(b.model);
  // The first layer on the pixels' 8-bit codes, its input normalisation folded in (format version 2).
  fold_input_normalize(model);
  if (!b.float_inputs.empty()) model.metadata["float_inputs"] = b.float_inputs;
  const auto shapes = validate(model, "exported model");
  model.metadata["classes"] = shapes.at(model.output).c;
  return model;
}

}  // namespace r2q::nn
