// A bench session.
#include "backends/bench_session.h"

#include <algorithm>
#include <map>
#include <memory>

#include "backends/bench.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::backends::bench {
namespace {

// Rates from the layers' MACs, percent of peak from their paths, per-layer figures when profiled.
EngineResult describe(const std::string& engine, const std::vector<Timing>& timings, int batch, int threads,
                      const deploy::Model& model, const std::vector<double>& macs, double clock_ghz,
                      const Plan* plan, const std::vector<double>& layer_seconds) {
  EngineResult r;
  r.engine = engine;
  r.batch = batch;
  r.threads = threads;
  std::vector<double> calls;
  for (const Timing& t : timings) {
    r.rounds.push_back(t.median_s);
    calls.push_back(t.calls_per_sample);
  }
  r.seconds = median(r.rounds);
  r.calls_per_sample = static_cast<int>(median(calls));
  std::vector<std::string> paths;
  if (plan) {
    paths = plan->layer_paths();
    r.weight_bytes = plan->weight_bytes();
  }
  // The shift-add engine splits a batch across its threads, one image per thread at least.
  const bool splits_batch = engine.rfind("shift-add", 0) == 0;
  const double cores = splits_batch ? std::min(threads, batch) : threads;
  double total_macs = 0, roofline_s = 0;
  for (std::size_t i = 0; i < macs.size(); ++i) {
    const deploy::Layer& l = model.layers[i];
    const double layer_macs = macs[i] * batch;
    total_macs += layer_macs;
    const double peak =
        plan ? peak_macs_per_cycle(paths[i], l) : (macs[i] > 0 ? fp32_peak_macs_per_cycle() : 0);
    const double peak_rate = peak * clock_ghz * 1e9 * cores;
    if (peak_rate > 0) roofline_s += layer_macs / peak_rate;
    if (layer_seconds.empty()) continue;
    LayerResult layer{l.name, paths[i], layer_seconds[i], layer_macs, std::nullopt, std::nullopt};
    if (layer_macs > 0 && layer.seconds > 0) {
      layer.gmac_per_s = layer_macs / layer.seconds / 1e9;
      if (peak_rate > 0) layer.percent_of_peak = 100.0 * layer_macs / layer.seconds / peak_rate;
    }
    r.layers.push_back(std::move(layer));
  }
  r.gmac_per_s = total_macs / r.seconds / 1e9;
  if (roofline_s > 0) r.percent_of_peak = 100.0 * roofline_s / r.seconds;
  if (splits_batch && threads > batch) r.note = "the shift-add engine runs a batch of 1 on one thread";
  return r;
}

}  // namespace

std::vector<EngineChoice> choose_engines(const std::string& backend_name, const std::string& engine_list,
                                         const std::string& baseline) {
  std::vector<Backend*> chosen;
  if (backend_name == "all") {
    for (Backend* b : all())
      if (b->available().empty()) chosen.push_back(b);
  } else {
    Backend& b = get(backend_name);
    if (const std::string why = b.available(); !why.empty())
      throw InputError("backend " + quoted_value(backend_name) + " is not available here: " + why);
    chosen.push_back(&b);
  }
  std::vector<std::string> known;
  if (!baseline.empty()) known.push_back(baseline);
  for (Backend* b : chosen)
    for (const std::string& e : b->engines()) known.push_back(e);
  std::vector<EngineChoice> engines;
  for (const std::string& e : engine_list.empty() ? known : split(engine_list, ',')) {
    if (!baseline.empty() && e == baseline) {
      engines.push_back({nullptr, e});
      continue;
    }
    Backend* owner = nullptr;
    for (Backend* b : chosen)
      for (const std::string& name : b->engines())
        if (name == e) owner = b;
    if (!owner)
      throw InputError("--engines: unknown engine " + quoted_value(e) + " (known: " + join(known, ", ") +
                       ")");
    engines.push_back({owner, e});
  }
  return engines;
}

Results run(const Request& request) {
  const deploy::Model& model = *request.model;
  const std::vector<double> macs = layer_macs(model);
  Results out;
  // The reference: the default engine of the first backend measured.
  for (const EngineChoice& e : request.engines)
    if (e.backend && out.reference.empty()) out.reference = e.backend->engines().front();
  std::map<std::string, std::size_t> weights;  // by engine name, at the first thread count
  for (const int batch : request.batches)
    for (const int threads : request.threads) {
      // Every engine planned first, then measured in turns (measure_interleaved).
      std::vector<std::unique_ptr<Plan>> plans;  // null for the baseline
      std::vector<std::function<void()>> calls;
      const deploy::FloatBatch input = bench_input(model, batch);
      for (const EngineChoice& e : request.engines) {
        if (!e.backend) {
          plans.emplace_back();
          calls.push_back(request.baseline(batch));
          continue;
        }
        plans.push_back(e.backend->plan(model, {.engine = e.engine, .isa = "auto", .threads = threads}));
        calls.push_back([plan = plans.back().get(), &input] { plan->run(input); });
      }
      if (request.set_baseline_threads) request.set_baseline_threads(threads);
      const auto rounds =
          measure_interleaved(calls, request.min_seconds, request.rounds, request.min_sample_seconds);
      const bool per_layer = batch == request.batches.front() && threads == request.threads.front();
      std::map<std::string, std::size_t> by_engine;  // index in out.results
      for (std::size_t i = 0; i < request.engines.size(); ++i) {
        const std::string& name = request.engines[i].engine;
        Plan* plan = plans[i].get();
        std::vector<double> layer_seconds;
        if (plan && per_layer) layer_seconds = profile_layers(*plan, input, request.min_seconds);
        out.results.push_back(describe(plan ? plan->engine() : name, rounds[i], batch, threads, model, macs,
                                       request.clock_ghz, plan, layer_seconds));
        if (plan) weights.emplace(name, plan->weight_bytes());
        by_engine[name] = out.results.size() - 1;
      }
      const auto reference = by_engine.find(out.reference);
      if (reference == by_engine.end()) continue;
      const std::vector<double>& reference_rounds = out.results[reference->second].rounds;
      for (const auto& [engine, index] : by_engine) {
        if (engine == out.reference) continue;
        const std::vector<double>& other = out.results[index].rounds;
        Speedup s{batch, threads, engine, 0, {}};
        for (std::size_t k = 0; k < other.size(); ++k) s.per_round.push_back(other[k] / reference_rounds[k]);
        s.speedup = median(s.per_round);
        out.speedups.push_back(std::move(s));
      }
    }
  if (const auto ref = weights.find(out.reference); ref != weights.end() && ref->second > 0) {
    const auto largest = std::max_element(weights.begin(), weights.end(),
                                          [](const auto& a, const auto& b) { return a.second < b.second; });
    if (largest->first != out.reference)
      out.weight_ratio = {largest->first,
                          static_cast<double>(largest->second) / static_cast<double>(ref->second)};
  }
  return out;
}

}  // namespace r2q::backends::bench
