// LSQ's fake quantization in one pass per direction (lsq_fake_quant.h). Every per-element value below is the
// float32 operation LibTorch's kernel for that step of the chain performs, in the chain's order; the two
// reductions of the step's gradient are LibTorch's own (at::sum_to on tensors laid out as the chain's).
#include "core/quant/lsq_fake_quant.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdint>

#include "core/quant/fake_quant_lanes.h"
#include "core/quant/ste.h"

namespace r2q::quant {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Levels {
  float lo, hi;  // -qn, qp
  static Levels of(double qn, double qp) { return {static_cast<float>(-qn), static_cast<float>(qp)}; }
};

// round_ste(clamp(v, lo, hi)); |c| + 0.5 lies in [0.5, qp + 0.5] (qp < 2^22). NaN stays NaN as in the chain
// (0 * floor(NaN)).
inline float code_of(float v, Levels l) {
  if (v != v) return v;
  return lanes::round_half_away(lanes::clamp(v, l.lo, l.hi));
}

#if defined(__SSE2__)
inline __m128 codes_of(__m128 v, __m128 lo, __m128 hi) {
  return lanes::keep_nan(v, lanes::round_half_away(lanes::clamp(v, lo, hi)));
}
#endif

void forward_kernel(const float* x, float s, Levels l, float* out, int64_t n) {
  at::parallel_for(0, n, lanes::kGrain, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__SSE2__)
    const __m128 vs = _mm_set1_ps(s), lo = _mm_set1_ps(l.lo), hi = _mm_set1_ps(l.hi);
    for (; i + 4 <= end; i += 4)
      _mm_storeu_ps(out + i, _mm_mul_ps(codes_of(_mm_div_ps(_mm_loadu_ps(x + i), vs), lo, hi), vs));
#endif
    for (; i < end; ++i) out[i] = code_of(x[i] / s, l) * s;
  });
}

// d/dx and the two per-element terms of d/ds (from the product codes * s and from the division x / s), as
// LibTorch's backward formulas compute them: g * s masked to the clamp's range (where(mask, ., +0)), then
// divided by s; g * codes; -(masked) * ((x / s) / s).
void backward_kernel(const float* x, const float* g, float s, Levels l, float* gx, float* term_mul,
                     float* term_div, int64_t n) {
  at::parallel_for(0, n, lanes::kGrain, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__SSE2__)
    const __m128 vs = _mm_set1_ps(s), lo = _mm_set1_ps(l.lo), hi = _mm_set1_ps(l.hi);
    const __m128 sign_bit = _mm_set1_ps(-0.0f);
    for (; i + 4 <= end; i += 4) {
      const __m128 v = _mm_div_ps(_mm_loadu_ps(x + i), vs);
      const __m128 gi = _mm_loadu_ps(g + i);
      const __m128 in_range = _mm_and_ps(_mm_cmpge_ps(v, lo), _mm_cmple_ps(v, hi));
      const __m128 gc = _mm_and_ps(in_range, _mm_mul_ps(gi, vs));
      _mm_storeu_ps(gx + i, _mm_div_ps(gc, vs));
      if (term_mul) {
        _mm_storeu_ps(term_mul + i, _mm_mul_ps(gi, codes_of(v, lo, hi)));
        _mm_storeu_ps(term_div + i, _mm_mul_ps(_mm_xor_ps(gc, sign_bit), _mm_div_ps(v, vs)));
      }
    }
#endif
    for (; i < end; ++i) {
      const float v = x[i] / s;
      const bool in_range = (v >= l.lo) & (v <= l.hi);
      const float gc = in_range ? g[i] * s : 0.0f;
      gx[i] = gc / s;
      if (term_mul) {
        term_mul[i] = g[i] * code_of(v, l);
        term_div[i] = -gc * (v / s);
      }
    }
  });
}

// The same gradients as LibTorch operations, for a backward pass that is itself differentiated
// (create_graph): the kernels' outputs would carry no graph.
variable_list differentiable_backward(const torch::Tensor& x, const torch::Tensor& s, const torch::Tensor& g,
                                      Levels l, bool want_s) {
  const torch::Tensor v = x / s;
  const torch::Tensor gc =
      torch::where((v >= l.lo).logical_and_(v <= l.hi), g * s, torch::zeros({}, g.options()));
  torch::Tensor gs;
  if (want_s) {
    const torch::Tensor codes = round_ste(v.clamp(l.lo, l.hi));
    gs = at::sum_to(g * codes, s.sizes()) + at::sum_to(-gc * (v / s), s.sizes());
  }
  return {gc / s, gs, torch::Tensor(), torch::Tensor()};
}

struct LsqFakeQuant : torch::autograd::Function<LsqFakeQuant> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& s,
                               double qn, double qp) {
    ctx->save_for_backward({x, s});
    ctx->saved_data["qn"] = qn;
    ctx->saved_data["qp"] = qp;
    torch::Tensor out = torch::empty_like(x);
    forward_kernel(x.data_ptr<float>(), s.item<float>(), Levels::of(qn, qp), out.data_ptr<float>(),
                   x.numel());
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& s = saved[1];
    const Levels l = Levels::of(ctx->saved_data["qn"].toDouble(), ctx->saved_data["qp"].toDouble());
    torch::Tensor g = grads[0];
    const bool want_s = ctx->needs_input_grad(1);
    if (torch::GradMode::is_enabled()) return differentiable_backward(x, s, g, l, want_s);
    g = lanes::in_layout_of(g, x);
    torch::Tensor gx = torch::empty_like(x);
    torch::Tensor term_mul, term_div;
    if (want_s) {
      term_mul = torch::empty_like(x);
      term_div = torch::empty_like(x);
    }
    backward_kernel(x.data_ptr<float>(), g.data_ptr<float>(), s.item<float>(), l, gx.data_ptr<float>(),
                    want_s ? term_mul.data_ptr<float>() : nullptr,
                    want_s ? term_div.data_ptr<float>() : nullptr, x.numel());
    torch::Tensor gs;
    if (want_s) gs = at::sum_to(term_mul, s.sizes()) + at::sum_to(term_div, s.sizes());
    return {gx, gs, torch::Tensor(), torch::Tensor()};
  }
};

bool fusable(const torch::Tensor& x, const torch::Tensor& s, double qn, double qp) {
  return lanes::dense_cpu_float(x) && lanes::scalar_of(s, x) && qn >= 0 && qp >= 0 && qn < lanes::kMaxCode &&
         qp < lanes::kMaxCode;
}

}  // namespace

torch::Tensor lsq_codes(const torch::Tensor& x, const torch::Tensor& s, double qn, double qp) {
  return round_ste((x / s).clamp(-qn, qp));
}

torch::Tensor lsq_fake_quant_chain(const torch::Tensor& x, const torch::Tensor& s, double qn, double qp) {
  return lsq_codes(x, s, qn, qp) * s;
}

torch::Tensor lsq_fake_quant(const torch::Tensor& x, const torch::Tensor& s, double qn, double qp) {
  if (!fusable(x, s, qn, qp)) return lsq_fake_quant_chain(x, s, qn, qp);
  return LsqFakeQuant::apply(x, s, qn, qp);
}

}  // namespace r2q::quant
