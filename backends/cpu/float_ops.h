// Code shared by the CPU engines: non-conv ops, conv loops off the kernels, input checks, run() wrappers.
// Every loop runs in the reference interpreter's order and precision, so its floats are the reference's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/float_gemm.h"
#include "backends/cpu/shift_add_conv.h"
#include "core/deploy/input_affine.h"
#include "core/deploy/model.h"
#include "core/deploy/reference.h"

namespace r2q::backends::cpu {

inline std::size_t to_size(int64_t v) {
  return static_cast<std::size_t>(v);
}

// A plan whose run() and run_with_accumulators() are one execute() leaving the logits in logits_.
class ExecutingPlan : public Plan {
 public:
  const deploy::FloatBatch& run(const deploy::FloatBatch& input) final {
    execute(input, nullptr);
    return logits_;
  }
  RunResult run_with_accumulators(const deploy::FloatBatch& input) final {
    RunResult result;
    execute(input, &result.accumulators);
    result.logits = logits_;
    return result;
  }
  void set_profiling(bool on) final { profile_.assign(on ? layer_count_ : 0, 0.0); }
  const std::vector<double>& layer_seconds() const final { return profile_; }

 protected:
  // Times one layer of a run into layer_seconds() when profiling is on; a no-op otherwise.
  class LayerTimer {
   public:
    LayerTimer(std::vector<double>& profile, std::size_t layer)
        : slot_(profile.empty() ? nullptr : &profile[layer]) {
      if (slot_) start_ = std::chrono::steady_clock::now();
    }
    ~LayerTimer() {
      if (slot_) *slot_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    LayerTimer(const LayerTimer&) = delete;
    LayerTimer& operator=(const LayerTimer&) = delete;

   private:
    double* slot_;
    std::chrono::steady_clock::time_point start_{};
  };

  // Runs the model on `input` into logits_; with `accumulators`, also returns the integer layers' there.
  virtual void execute(const deploy::FloatBatch& input,
                       std::map<std::size_t, deploy::IntBatch>* accumulators) = 0;

  deploy::FloatBatch logits_;
  std::size_t layer_count_ = 0;  // the model's layers: set by the engine's constructor
  std::vector<double> profile_;
};

// "W<weight bits>A<input bits>" of an integer conv/linear layer, for layer_paths().
std::string bits_label(const deploy::Conv& c);

// Throws InputError("<engine> engine: input of shape ...") unless `input` has shape `expected`, 0 <= n <=
// max_n and n * size values, or naming the first element that is not finite. Allocates only to throw.
void check_input(const deploy::FloatBatch& input, const deploy::Shape& expected, std::string_view engine,
                 int64_t max_n = std::numeric_limits<int64_t>::max());

// The weights [O, K] of a conv/linear layer with a float side as floats (integer codes are exact in float),
// for run_float_loops; leaves `c` without weight tensors.
std::vector<float> take_float_loop_weights(deploy::Conv& c);
// ": float loops (float input)" or ": float loops (float weights)", for layer_paths().
std::string float_loops_label(const deploy::Conv& c);

// Conv/linear layer `l` with a float side, input shape `in`, output shape `out`, on n images: both sides in
// double, the products exact, summed in the reference's order (ci, ky, kx) by the float GEMM of `isa` (a
// resolved kernel ISA) and rounded to float once, so y holds the reference's very floats, NCHW or
// (`nhwc_out`) NHWC. `weights` from take_float_loop_weights; `scratch` is grown as needed and reused.
void run_float_loops(const deploy::Layer& l, const float* weights, const deploy::Shape& in,
                     const deploy::Shape& out, const float* x, float* y, int64_t n,
                     std::vector<double>& scratch, Isa isa, bool nhwc_out = false);

// An input-affine layer (deploy::InputAffine: the first layer on the pixels' codes), prepared once: the
// kernel of its per-channel sums (an integer one with AVX-512 VNNI or AVX2, float_gemm.h's
// int_window_sums_for, else float32 lanes) with its weights in that kernel's layout, the offset terms and the
// channel multipliers in double.
struct AffineLayer {
  IntSums int_sums = IntSums::None;
  std::vector<float> weights_by_k;  // IntSums::None: [C][kernel_h x kernel_w][O]
  std::vector<std::int8_t> quads;   // IntSums::Bytes' weights
  std::vector<std::int16_t> pairs;  // IntSums::Words' weights
  deploy::AffineOffsets offsets;
  std::vector<double> in_mul;
  std::size_t weight_bytes() const;  // of the weights held
};
// Empty unless `c` has an input affine whose per-channel window sums are exact in float32 (below 2^24); such
// a layer runs on run_integer_loops instead. `isa`: the engine's (resolved).
std::optional<AffineLayer> prepare_affine_layer(const deploy::Conv& c, const deploy::Shape& in, Isa isa);
// Layer `l` on n images of its NCHW input x: the codes, each input channel's window sums (exact integers: the
// accumulators), then the reference's double epilogue (float_gemm.h's
// AffineEpilogueJob), into y NCHW or (`nhwc_out`) NHWC; with `acc`, the accumulators [n, C * O, OH, OW].
// With `codes_out` (n * out.size() bytes, NHWC like y; an NHWC output and an unsigned 8-bit `codes_quant`, or
// std::invalid_argument), also the readers' codes of y by `codes_quant`, each row right after its epilogue.
void run_affine_layer(const deploy::Layer& l, const AffineLayer& a, const deploy::Shape& in,
                      const deploy::Shape& out, const float* x, float* y, int64_t n,
                      std::vector<float>& scratch, std::vector<double>& row_scratch, Isa isa, bool nhwc_out,
                      deploy::IntBatch* acc, std::uint8_t* codes_out = nullptr,
                      const deploy::InputQuant* codes_quant = nullptr);

// Integer conv/linear layer `l` through the reference's own integer convolution (it allocates its codes and
// accumulators on every call), then the reference's float epilogue. With `acc`, also its accumulators.
void run_integer_loops(const deploy::Layer& l, const deploy::Shape& in, const float* x, float* y, int64_t n,
                       deploy::IntBatch* acc);

// Any layer but Conv2d / Linear (which throw InputError): `in` holds the pointers to its inputs' n images,
// `in_shapes` their shapes, `out` the output's.
void run_other(const deploy::Layer& l, std::span<const float* const> in,
               std::span<const deploy::Shape> in_shapes, const deploy::Shape& out, float* y, int64_t n);

}  // namespace r2q::backends::cpu
