// DoReFa's activation fake quantization in one pass per direction (dorefa_fake_quant.h). Every per-element
// value below is the float32 operation LibTorch's kernel for that step of the chain performs, in the chain's
// order: clamp(a, lo, 1), times float(qmax), round_ste, times the float scale; backward
// where(lo <= a <= 1, (g * scale) * float(qmax), +0).
#include "core/quant/dorefa_fake_quant.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdint>

#include "core/quant/fake_quant_lanes.h"
#include "core/quant/ste.h"

namespace r2q::quant {
namespace {
namespace dorefa {  // apart from lsq_fake_quant.cpp's helpers when both are compiled as one unity source

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr float kHi = 1.0f;

struct Levels {
  float lo, qmax, scale;
  static Levels of(double lo, double qmax) {
    return {static_cast<float>(lo), static_cast<float>(qmax), static_cast<float>(1.0 / qmax)};
  }
};

#if defined(__SSE2__)
// Levels in four lanes each.
struct Vectors {
  __m128 lo, hi, qmax, scale;
  explicit Vectors(Levels l)
      : lo(_mm_set1_ps(l.lo)), hi(_mm_set1_ps(kHi)), qmax(_mm_set1_ps(l.qmax)), scale(_mm_set1_ps(l.scale)) {}
};
#endif

void forward_kernel(const float* a, Levels l, float* out, int64_t n) {
  at::parallel_for(0, n, lanes::kGrain, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__SSE2__)
    const Vectors k(l);
    for (; i + 4 <= end; i += 4) {
      const __m128 v = _mm_loadu_ps(a + i);
      const __m128 codes = lanes::round_half_away(_mm_mul_ps(lanes::clamp(v, k.lo, k.hi), k.qmax));
      _mm_storeu_ps(out + i, _mm_mul_ps(lanes::keep_nan(v, codes), k.scale));
    }
#endif
    for (; i < end; ++i) {
      const float v = a[i];
      const float codes = v != v ? v : lanes::round_half_away(lanes::clamp(v, l.lo, kHi) * l.qmax);
      out[i] = codes * l.scale;
    }
  });
}

void backward_kernel(const float* a, const float* g, Levels l, float* ga, int64_t n) {
  at::parallel_for(0, n, lanes::kGrain, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__SSE2__)
    const Vectors k(l);
    for (; i + 4 <= end; i += 4) {
      const __m128 v = _mm_loadu_ps(a + i);
      const __m128 in_range = _mm_and_ps(_mm_cmpge_ps(v, k.lo), _mm_cmple_ps(v, k.hi));
      const __m128 through = _mm_mul_ps(_mm_mul_ps(_mm_loadu_ps(g + i), k.scale), k.qmax);
      _mm_storeu_ps(ga + i, _mm_and_ps(in_range, through));
    }
#endif
    for (; i < end; ++i) {
      const bool in_range = (a[i] >= l.lo) & (a[i] <= kHi);
      ga[i] = in_range ? (g[i] * l.scale) * l.qmax : 0.0f;
    }
  });
}

struct DorefaFakeQuant : torch::autograd::Function<DorefaFakeQuant> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, double lo, double qmax) {
    ctx->save_for_backward({a});
    ctx->saved_data["lo"] = lo;
    ctx->saved_data["qmax"] = qmax;
    torch::Tensor out = torch::empty_like(a);
    forward_kernel(a.data_ptr<float>(), Levels::of(lo, qmax), out.data_ptr<float>(), a.numel());
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const torch::Tensor a = ctx->get_saved_variables()[0];
    const double lo = ctx->saved_data["lo"].toDouble(), qmax = ctx->saved_data["qmax"].toDouble();
    torch::Tensor g = grads[0];
    if (torch::GradMode::is_enabled()) {
      // Differentiated again (create_graph): the chain's backward operations, which carry a graph.
      const torch::Tensor through = (g * dorefa_act_scale(qmax, g.options())) * qmax;
      return {torch::where((a >= lo).logical_and_(a <= 1.0), through, torch::zeros({}, g.options())),
              torch::Tensor(), torch::Tensor()};
    }
    g = lanes::in_layout_of(g, a);
    torch::Tensor ga = torch::empty_like(a);
    backward_kernel(a.data_ptr<float>(), g.data_ptr<float>(), Levels::of(lo, qmax), ga.data_ptr<float>(),
                    a.numel());
    return {ga, torch::Tensor(), torch::Tensor()};
  }
};

bool fusable(const torch::Tensor& a, double lo, double qmax) {
  return lanes::dense_cpu_float(a) && lo >= -1 && lo <= 0 && qmax >= 1 && qmax < lanes::kMaxCode;
}

}  // namespace dorefa
}  // namespace

torch::Tensor dorefa_act_codes(const torch::Tensor& a, double lo, double qmax) {
  return round_ste(a.clamp(lo, 1.0) * qmax);
}

torch::Tensor dorefa_act_scale(double qmax, const torch::TensorOptions& options) {
  return torch::full({1}, 1.0 / qmax, options);
}

torch::Tensor dorefa_act_fake_quant_chain(const torch::Tensor& a, double lo, double qmax) {
  return dorefa_act_codes(a, lo, qmax) * dorefa_act_scale(qmax, a.options());
}

torch::Tensor dorefa_act_fake_quant(const torch::Tensor& a, double lo, double qmax) {
  if (!dorefa::fusable(a, lo, qmax)) return dorefa_act_fake_quant_chain(a, lo, qmax);
  return dorefa::DorefaFakeQuant::apply(a, lo, qmax);
}

}  // namespace r2q::quant
