// The built-in quantization methods.
#include "core/quant/registry.h"

#include <algorithm>

#include "core/quant/methods/methods.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::quant {
namespace {

std::vector<int> range(int from, int to) {
  std::vector<int> out;
  for (int b = from; b <= to; ++b) out.push_back(b);
  return out;
}

std::string describe_bits(const std::vector<int>& bits) {
  if (bits.empty()) return "any";
  bool contiguous = bits.back() - bits.front() + 1 == static_cast<int>(bits.size());
  if (contiguous && bits.size() > 1) return std::to_string(bits.front()) + "-" + std::to_string(bits.back());
  std::string out;
  for (size_t i = 0; i < bits.size(); ++i) out += (i ? ", " : "") + std::to_string(bits[i]);
  return out;
}

}  // namespace

void register_builtins(Registry<QuantMethod>& r) {
  r.add("fp32", {"full precision (no quantization)", {}, {}, nullptr, nullptr});
  r.add("r2q", {"R2Q: residual binary bases with power-of-two coefficients (shift-add), learnable clip",
                range(1, 8), range(1, 8),
                [](const WeightRequest& q) {
                  return make_r2q_weight(q.bits, q.out_channels, q.weights / q.out_channels);
                },
                [](const ActRequest& q) { return make_r2q_act(q.bits, q.input_signed); }});
  r.add("dorefa", {"DoReFa-Net (Zhou et al. 2016)", range(1, 8), range(1, 8),
                   [](const WeightRequest& q) { return make_dorefa_weight(q.bits); },
                   [](const ActRequest& q) { return make_dorefa_act(q.bits, q.input_signed); }});
  r.add("pact", {"PACT (Choi et al. 2018): learnable activation clip, DoReFa weights", range(1, 8),
                 range(1, 8), [](const WeightRequest& q) { return make_dorefa_weight(q.bits); },
                 [](const ActRequest& q) { return make_pact_act(q.bits, q.input_signed); }});
  r.add("lsq", {"LSQ (Esser et al. 2020): learned step size", range(2, 8), range(2, 8),
                [](const WeightRequest& q) { return make_lsq_weight(q.bits, q.weights); },
                [](const ActRequest& q) { return make_lsq_act(q.bits, q.input_signed); }});
  r.add("apot", {"APoT (Li et al. 2020): additive powers-of-two levels, learned clipping", range(2, 7),
                 range(2, 6), [](const WeightRequest& q) { return make_apot_weight(q.bits); },
                 [](const ActRequest& q) { return make_apot_act(q.bits, q.input_signed); }});
  r.add("lqnet",
        {"LQ-Nets (Zhang et al. 2018): learned bases, least-squares updates", range(1, 4), range(1, 4),
         [](const WeightRequest& q) { return make_lqnet_weight(q.bits, q.out_channels, q.fan_out); },
         [](const ActRequest& q) { return make_lqnet_act(q.bits, q.input_signed); }});
  r.add("xnor", {"XNOR-Net (Rastegari et al. 2016): binary weights and activations with scaling factors",
                 {1},
                 {1},
                 [](const WeightRequest&) { return make_xnor_weight(); },
                 [](const ActRequest&) { return make_xnor_act(); },
                 /*binary_activations=*/true});
}

Registry<QuantMethod>& method_registry() {
  static Registry<QuantMethod> registry = [] {
    Registry<QuantMethod> r("quantization method");
    register_builtins(r);
    return r;
  }();
  return registry;
}

void check_supported(const QuantConfig& c) {
  const QuantMethod& m = method_registry().get(c.method);
  auto check = [&](const char* field, int bits, const std::vector<int>& supported) {
    if (!supported.empty() && std::find(supported.begin(), supported.end(), bits) == supported.end())
      throw InputError("quant." + std::string(field) + ": " + std::to_string(bits) +
                       " bits is not supported by " + quoted_value(c.method) + " (supported: weight_bits " +
                       describe_bits(m.weight_bits) + ", act_bits " + describe_bits(m.act_bits) + ")");
  };
  check("weight_bits", c.weight_bits, m.weight_bits);
  check("act_bits", c.act_bits, m.act_bits);
  if (c.method != "fp32" && c.first_last_bits != 32 && (c.first_last_bits < 2 || c.first_last_bits > 8))
    throw InputError("quant.first_last_bits: " + std::to_string(c.first_last_bits) +
                     " is not supported (first and last layers use LSQ: 2-8 bits, or 32 for full precision)");
}

QuantizerPtr edge_weight_quantizer(const QuantConfig& c, int64_t weights) {
  if (c.method == "fp32" || c.first_last_bits >= 32) return nullptr;
  return make_lsq_weight(c.first_last_bits, weights);
}

QuantizerPtr edge_input_quantizer(const QuantConfig& c, bool input_signed) {
  if (c.method == "fp32" || c.first_last_bits >= 32) return nullptr;
  return make_lsq_act(c.first_last_bits, input_signed);
}

}  // namespace r2q::quant
