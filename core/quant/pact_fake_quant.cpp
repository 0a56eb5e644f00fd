// PACT's activation fake quantization in one pass per direction (pact_fake_quant.h). Every per-element value
// below is the float32 operation LibTorch's kernel for that step of the chain performs, in the chain's order;
// alpha's gradient is reduced by LibTorch's own at::sum_to on a tensor laid out as the chain's.
//
// The chain's backward, per element, with m = minimum(a, |alpha|) and lo = 0 or -|alpha|:
//   maximum(m, lo), for m:   gm = where(m == lo, g / 2, g), zero where m < lo
//                   for lo:  where(m == lo, g / 2, g), zero where m > lo        (signed only; then negated)
//   minimum(a, |alpha|), a:  where(a == |alpha|, gm / 2, gm), zero where a > |alpha|
//                   |alpha|: where(a == |alpha|, gm / 2, gm), zero where a < |alpha|
// and |alpha|'s gradient times sgn(alpha). A NaN input compares false everywhere, so it passes g to both.
#include "core/quant/pact_fake_quant.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>

#include "core/quant/fake_quant_lanes.h"
#include "core/quant/ste.h"

namespace r2q::quant {
namespace {
namespace pact {  // apart from the other one-pass kernels' helpers when compiled as one unity source

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kMinAlpha = 1e-8;

struct Params {
  float magnitude;  // |alpha|: the surrogate's bound
  float clip;       // alpha_c = max(|alpha|, 1e-8): the quantizer's bound
  float qmax, scale;
  bool is_signed;
  static Params of(float alpha, bool is_signed, double qmax) {
    const float magnitude = std::fabs(alpha);
    const float floor = static_cast<float>(kMinAlpha);
    const float clip = magnitude > floor ? magnitude : floor;
    const float q = static_cast<float>(qmax);
    return {magnitude, clip, q, clip / q, is_signed};
  }
};

void forward_kernel(const float* a, const Params& p, float* out, int64_t n) {
  const float lo = p.is_signed ? -p.clip : 0.0f;
  at::parallel_for(0, n, lanes::kGrain, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__SSE2__)
    const __m128 vlo = _mm_set1_ps(lo), vclip = _mm_set1_ps(p.clip), qmax = _mm_set1_ps(p.qmax);
    const __m128 scale = _mm_set1_ps(p.scale);
    for (; i + 4 <= end; i += 4) {
      const __m128 v = _mm_loadu_ps(a + i);
      const __m128 t = _mm_mul_ps(_mm_div_ps(lanes::clamp(v, vlo, vclip), vclip), qmax);
      _mm_storeu_ps(out + i, _mm_mul_ps(lanes::keep_nan(v, lanes::round_half_away(t)), scale));
    }
#endif
    for (; i < end; ++i) {
      const float v = a[i];
      const float code = v != v ? v : lanes::round_half_away((lanes::clamp(v, lo, p.clip) / p.clip) * p.qmax);
      out[i] = code * p.scale;
    }
  });
}

// ga: the input's gradient; term / low (when not null): the per-element terms of |alpha|'s gradient from the
// minimum and (signed) from the maximum's lower bound, before their reductions.
void backward_kernel(const float* a, const float* g, const Params& p, float* ga, float* term, float* low,
                     int64_t n) {
  const float hi = p.magnitude, lo = p.is_signed ? -p.magnitude : 0.0f;
  at::parallel_for(0, n, lanes::kGrain, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__SSE2__)
    const __m128 vhi = _mm_set1_ps(hi), vlo = _mm_set1_ps(lo), two = _mm_set1_ps(2.0f);
    auto pick = [](__m128 mask, __m128 yes, __m128 no) {
      return _mm_or_ps(_mm_and_ps(mask, yes), _mm_andnot_ps(mask, no));
    };
    for (; i + 4 <= end; i += 4) {
      const __m128 v = _mm_loadu_ps(a + i), gi = _mm_loadu_ps(g + i);
      const __m128 m = _mm_min_ps(vhi, v);  // a NaN input stays NaN (minps returns its second operand)
      const __m128 at_lo = pick(_mm_cmpeq_ps(m, vlo), _mm_div_ps(gi, two), gi);
      const __m128 gm = _mm_andnot_ps(_mm_cmplt_ps(m, vlo), at_lo);
      const __m128 at_hi = pick(_mm_cmpeq_ps(v, vhi), _mm_div_ps(gm, two), gm);
      _mm_storeu_ps(ga + i, _mm_andnot_ps(_mm_cmpgt_ps(v, vhi), at_hi));
      if (term != nullptr) _mm_storeu_ps(term + i, _mm_andnot_ps(_mm_cmplt_ps(v, vhi), at_hi));
      if (low != nullptr) _mm_storeu_ps(low + i, _mm_andnot_ps(_mm_cmpgt_ps(m, vlo), at_lo));
    }
#endif
    for (; i < end; ++i) {
      const float v = a[i], gi = g[i];
      const float m = v != v ? v : (v < hi ? v : hi);
      const float at_lo = m == lo ? gi / 2.0f : gi;
      const float gm = m < lo ? 0.0f : at_lo;
      const float at_hi = v == hi ? gm / 2.0f : gm;
      ga[i] = v > hi ? 0.0f : at_hi;
      if (term != nullptr) term[i] = v < hi ? 0.0f : at_hi;
      if (low != nullptr) low[i] = m > lo ? 0.0f : at_lo;
    }
  });
}

// The same gradients as LibTorch operations, for a backward pass that is itself differentiated.
variable_list differentiable_backward(const torch::Tensor& a, const torch::Tensor& alpha,
                                      const torch::Tensor& g, bool is_signed, bool want_alpha) {
  const torch::Tensor magnitude = alpha.abs();
  const torch::Tensor m = torch::min(a, magnitude);
  const torch::Tensor lo = is_signed ? -magnitude : torch::zeros_like(magnitude);
  const torch::Tensor zero = torch::zeros({}, g.options());
  const torch::Tensor at_lo = torch::where(m == lo, g / 2, g);
  const torch::Tensor gm = torch::where(m < lo, zero, at_lo);
  const torch::Tensor at_hi = torch::where(a == magnitude, gm / 2, gm);
  torch::Tensor galpha;
  if (want_alpha) {
    torch::Tensor gmag = at::sum_to(torch::where(a < magnitude, zero, at_hi), magnitude.sizes());
    if (is_signed) gmag = gmag + -at::sum_to(torch::where(m > lo, zero, at_lo), magnitude.sizes());
    galpha = gmag * alpha.sgn();
  }
  return {torch::where(a > magnitude, zero, at_hi), galpha, torch::Tensor(), torch::Tensor()};
}

struct PactFakeQuant : torch::autograd::Function<PactFakeQuant> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& alpha,
                               bool is_signed, double qmax) {
    ctx->save_for_backward({a, alpha});
    ctx->saved_data["signed"] = is_signed;
    ctx->saved_data["qmax"] = qmax;
    torch::Tensor out = torch::empty_like(a);
    forward_kernel(a.data_ptr<float>(), Params::of(alpha.item<float>(), is_signed, qmax),
                   out.data_ptr<float>(), a.numel());
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& a = saved[0];
    const torch::Tensor& alpha = saved[1];
    const bool is_signed = ctx->saved_data["signed"].toBool();
    const bool want_alpha = ctx->needs_input_grad(1);
    torch::Tensor g = grads[0];
    if (torch::GradMode::is_enabled()) return differentiable_backward(a, alpha, g, is_signed, want_alpha);
    g = lanes::in_layout_of(g, a);
    torch::Tensor ga = torch::empty_like(a), term, low;
    if (want_alpha) {
      term = torch::empty_like(a);
      if (is_signed) low = torch::empty_like(a);
    }
    backward_kernel(a.data_ptr<float>(), g.data_ptr<float>(),
                    Params::of(alpha.item<float>(), is_signed, ctx->saved_data["qmax"].toDouble()),
                    ga.data_ptr<float>(), term.defined() ? term.data_ptr<float>() : nullptr,
                    low.defined() ? low.data_ptr<float>() : nullptr, a.numel());
    torch::Tensor galpha;
    if (want_alpha) {
      torch::Tensor gmag = at::sum_to(term, alpha.sizes());
      if (is_signed) gmag = gmag + -at::sum_to(low, alpha.sizes());
      galpha = gmag * alpha.sgn();
    }
    return {ga, galpha, torch::Tensor(), torch::Tensor()};
  }
};

bool fusable(const torch::Tensor& a, const torch::Tensor& alpha, double qmax) {
  return lanes::dense_cpu_float(a) && lanes::scalar_of(alpha, a) && std::isfinite(alpha.item<float>()) &&
         qmax >= 1 && qmax < lanes::kMaxCode;
}

}  // namespace pact
}  // namespace

Quantized pact_quantize(const torch::Tensor& a, const torch::Tensor& alpha, bool is_signed, double qmax) {
  torch::NoGradGuard no_grad;
  const torch::Tensor clip = alpha.abs().clamp_min(pact::kMinAlpha);
  const torch::Tensor y = torch::max(torch::min(a, clip), is_signed ? -clip : torch::zeros_like(clip));
  return {round_ste(y / clip * qmax), clip / qmax};
}

torch::Tensor pact_fake_quant_chain(const torch::Tensor& a, const torch::Tensor& alpha, bool is_signed,
                                    double qmax) {
  const Quantized q = pact_quantize(a, alpha, is_signed, qmax);
  const torch::Tensor magnitude = alpha.abs();
  const torch::Tensor surrogate =
      torch::max(torch::min(a, magnitude), is_signed ? -magnitude : torch::zeros_like(magnitude));
  return straight_through(q.codes * q.scale, surrogate);
}

torch::Tensor pact_fake_quant(const torch::Tensor& a, const torch::Tensor& alpha, bool is_signed,
                              double qmax) {
  if (!pact::fusable(a, alpha, qmax)) return pact_fake_quant_chain(a, alpha, is_signed, qmax);
  return pact::PactFakeQuant::apply(a, alpha, is_signed, qmax);
}

}  // namespace r2q::quant
