// The deployment backends' one interface (DESIGN §6): a backend says what it can run and why not, plans an
// exported deploy::Model once (all weight packing) and runs batches on the plan; backends are found by name.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/deploy/model.h"
#include "core/deploy/reference.h"
#include "core/util/registry.h"

namespace r2q::backends {

// What a backend runs on, for `r2q backends` and the environment recorded with results.
struct DeviceInfo {
  std::string name;                   // "cpu"
  std::string description;            // the processor's model name
  std::vector<std::string> features;  // e.g. "avx2", "avx512_vpopcntdq"
  int threads = 1;                    // hardware threads the backend could use
};

// How to plan: the engine by name (a backend may have several, e.g. cpu: "shift-add", "onednn-fp32",
// "onednn-int8"), the instruction set where the engine has a choice ("auto": the R2Q_KERNEL_ISA
// environment variable if set, else the best this CPU runs), and threads (>= 1).
struct PlanOptions {
  std::string engine = "shift-add";
  std::string isa = "auto";
  int threads = 1;
};

// The logits and, for every conv/linear layer whose weights and input are both integer, its int32
// accumulators before the epilogue: [n, O, OH, OW] by layer index, as deploy::ReferenceResult::accumulators.
struct RunResult {
  deploy::FloatBatch logits;
  std::map<std::size_t, deploy::IntBatch> accumulators;
};

// A model prepared for one engine: weights are packed once and buffers are sized on the first run of a batch
// size, so that later runs of that size need not allocate (each engine says where it still does). A plan
// runs one batch at a time (not thread-safe); make one plan per thread.
class Plan {
 public:
  virtual ~Plan() = default;
  // The logits [n, classes, 1, 1] of input [n, C, H, W] (the model's input shape, finite values). The
  // reference stays valid until the next run on this plan, which reuses its storage. Throws InputError for
  // a wrong input.
  virtual const deploy::FloatBatch& run(const deploy::FloatBatch& input) = 0;
  // The same computation, also returning the accumulators (copied out: this one allocates; it is for tests).
  virtual RunResult run_with_accumulators(const deploy::FloatBatch& input) = 0;
  virtual std::string engine() const = 0;  // "shift-add (avx2)"
  // Bytes of weights the plan holds, in the form it executes them (bit-planes, int8 codes, floats).
  virtual std::size_t weight_bytes() const = 0;
  // How each layer of the model runs, one line per layer in model order (e.g. "shift-add avx2 W2A2").
  virtual std::vector<std::string> layer_paths() const = 0;
  // Per-layer timing for `r2q bench`: while on, each run records every layer's wall time (two clock reads
  // per layer); layer_seconds() holds the last run's, by layer index (empty while off).
  virtual void set_profiling(bool on) = 0;
  virtual const std::vector<double>& layer_seconds() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Empty when the backend can run on this machine, else why not (no GPU, driver too old, ...).
  virtual std::string available() const = 0;
  virtual DeviceInfo device() const = 0;
  // The engines plan() accepts (PlanOptions::engine), default first.
  virtual std::vector<std::string> engines() const = 0;
  // Empty when this backend can run layer `layer` of `model`, else why not; the reason names the layer.
  virtual std::string supports(const deploy::Model& model, std::size_t layer) const = 0;
  // Validates the model and prepares it for options.engine. Throws InputError for an invalid model, an
  // unknown engine (listing the known ones), an unavailable ISA or an unsupported layer.
  virtual std::unique_ptr<Plan> plan(const deploy::Model& model, const PlanOptions& options = {}) const = 0;
};

using BackendRegistry = Registry<std::unique_ptr<Backend>>;

// Every backend, registered once by register_builtins() on first use.
BackendRegistry& backend_registry();
void register_builtins(BackendRegistry& registry);

// The backend called `name`; an unknown name throws InputError listing the known ones.
Backend& get(const std::string& name);
// Every registered backend, in name order.
std::vector<Backend*> all();

}  // namespace r2q::backends
