// r2q bench: deployment latency of one model on every engine — LibTorch eager fp32 and each backend's engines
// — at several batch sizes and thread counts, end to end and per layer, with MAC/s, percent of this CPU's
// peak, weight memory, and the speed-ups of the shift-add engine measured side by side in this one process.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "backends/backend.h"
#include "backends/bench.h"
#include "cli/bench_models.h"
#include "cli/common.h"
#include "core/util/build_info.h"
#include "core/util/cpu.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::cli {
namespace {

using nlohmann::json;
namespace bench = backends::bench;

constexpr const char* kEager = "libtorch-eager";
constexpr int kRounds = 5;  // turns of side-by-side measurement

std::vector<int> int_list(const std::string& option, const std::string& text, int all) {
  std::vector<int> out;
  for (const std::string& part : split(text, ',')) {
    if (part == "all") {
      out.push_back(all);
      continue;
    }
    try {
      std::size_t used = 0;
      const int v = std::stoi(part, &used);
      if (used == part.size() && v >= 1 && v <= 65536) {
        out.push_back(v);
        continue;
      }
    } catch (const std::exception&) {
    }
    throw UsageError(option + ": \"" + part + "\" (expected positive integers" + (all ? " or all" : "") +
                     ", comma-separated)");
  }
  if (out.empty()) throw UsageError(option + " is empty");
  return out;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// One engine measured at one batch size and thread count.
struct Measured {
  std::string engine;                               // as the plan names itself, e.g. "shift-add (avx2)"
  double seconds = 0;                               // median over the rounds of one run of the batch
  std::vector<double> rounds;                       // each round's median
  const std::vector<std::string>* paths = nullptr;  // the plan's layer paths (null: LibTorch eager)
  std::size_t weight_bytes = 0;
  std::vector<double> layer_seconds;  // empty unless profiled
};

// One measured configuration, as JSON: rates from the layers' MACs, percent of peak from their paths.
json result_json(const Measured& r, int batch, int threads, const BenchModel& m,
                 const std::vector<double>& macs, double clock_ghz) {
  double total_macs = 0, roofline_s = 0;
  // The shift-add engine splits a batch across its threads, one image per thread at least.
  const bool splits_batch = r.engine.rfind("shift-add", 0) == 0;
  const double cores = splits_batch ? std::min(threads, batch) : threads;
  json layers = json::array();
  for (std::size_t i = 0; i < macs.size(); ++i) {
    const deploy::Layer& l = m.model.layers[i];
    const double layer_macs = macs[i] * batch;
    total_macs += layer_macs;
    const double peak = r.paths ? bench::peak_macs_per_cycle((*r.paths)[i], l)
                                : (macs[i] > 0 ? bench::fp32_peak_macs_per_cycle() : 0);
    const double peak_rate = peak * clock_ghz * 1e9 * cores;
    if (peak_rate > 0) roofline_s += layer_macs / peak_rate;
    if (r.layer_seconds.empty()) continue;
    const double s = r.layer_seconds[i];
    json layer = {{"name", l.name}, {"path", (*r.paths)[i]}, {"seconds", s}, {"macs", layer_macs}};
    if (layer_macs > 0 && s > 0) {
      layer["gmac_per_s"] = layer_macs / s / 1e9;
      if (peak_rate > 0) layer["percent_of_peak"] = 100.0 * layer_macs / s / peak_rate;
    }
    layers.push_back(layer);
  }
  json j = {{"engine", r.engine},
            {"batch", batch},
            {"threads", threads},
            {"seconds", r.seconds},
            {"seconds_per_round", r.rounds},
            {"us_per_image", r.seconds * 1e6 / batch},
            {"images_per_s", batch / r.seconds},
            {"gmac_per_s", total_macs / r.seconds / 1e9}};
  if (roofline_s > 0) j["percent_of_peak"] = 100.0 * roofline_s / r.seconds;
  if (splits_batch && threads > batch) j["note"] = "the shift-add engine runs a batch of 1 on one thread";
  if (r.paths) j["weight_bytes"] = r.weight_bytes;
  if (!layers.empty()) j["layers"] = layers;
  return j;
}

void print_text(const json& out, bool show_layers) {
  std::cout << "model    " << out["model"]["label"].get<std::string>() << "\n         "
            << fixed(out["model"]["macs_per_image"].get<double>() / 1e6, 2) << " MMAC per image, "
            << out["model"]["layers"].size() << " layers\n"
            << "cpu      " << out["cpu"]["model"].get<std::string>() << ", "
            << out["cpu"]["threads"].get<int>() << " threads, clock "
            << fixed(out["cpu"]["clock_ghz"].get<double>(), 2) << " GHz (measured), "
            << join(out["cpu"]["features"].get<std::vector<std::string>>(), " ") << "\n\n";
  std::printf("%-26s %5s %7s %12s %12s %9s %7s %12s\n", "engine", "batch", "threads", "latency", "us/image",
              "GMAC/s", "% peak", "weights");
  for (const json& r : out["results"]) {
    std::printf(
        "%-26s %5d %7d %9s ms %12s %9s %7s %12s\n", r["engine"].get<std::string>().c_str(),
        r["batch"].get<int>(), r["threads"].get<int>(), fixed(r["seconds"].get<double>() * 1e3, 3).c_str(),
        fixed(r["us_per_image"].get<double>(), 1).c_str(), fixed(r["gmac_per_s"].get<double>(), 2).c_str(),
        r.contains("percent_of_peak") ? fixed(r["percent_of_peak"].get<double>(), 1).c_str() : "-",
        r.contains("weight_bytes") ? std::to_string(r["weight_bytes"].get<std::size_t>()).c_str() : "-");
  }
  if (!out["ratios"].empty()) {
    std::cout
        << "\nshift-add speed-up, measured side by side (other engine's latency / shift-add's, median of "
        << kRounds << " rounds in turns):\n";
    for (const json& q : out["ratios"])
      std::cout << "  batch " << q["batch"].get<int>() << ", " << q["threads"].get<int>() << " thread(s): vs "
                << q["versus"].get<std::string>() << " " << fixed(q["speedup"].get<double>(), 2) << "x\n";
  }
  if (out.contains("weight_ratio"))
    std::cout << "weights: fp32 / shift-add = " << fixed(out["weight_ratio"].get<double>(), 1) << "x\n";
  if (!show_layers) return;
  for (const json& r : out["results"]) {
    if (!r.contains("layers")) continue;
    std::cout << "\n"
              << r["engine"].get<std::string>() << ", batch " << r["batch"].get<int>() << ", "
              << r["threads"].get<int>() << " thread(s), per layer (medians):\n";
    for (const json& l : r["layers"])
      std::printf("  %-28s %10s us %8s GMAC/s %6s %%  %s\n", l["name"].get<std::string>().c_str(),
                  fixed(l["seconds"].get<double>() * 1e6, 1).c_str(),
                  l.contains("gmac_per_s") ? fixed(l["gmac_per_s"].get<double>(), 2).c_str() : "-",
                  l.contains("percent_of_peak") ? fixed(l["percent_of_peak"].get<double>(), 1).c_str() : "-",
                  l["path"].get<std::string>().c_str());
  }
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("model", po::value<std::string>()->value_name("FILE"),
                        "a model file written by `r2q export` (default: --arch with random weights)")(
      "arch", po::value<std::string>()->default_value("resnet20"), "architecture to build when no --model")(
      "method", po::value<std::string>()->default_value("r2q"), "its quantizer (with --arch)")(
      "weight-bits", po::value<int>()->default_value(2), "with --arch")(
      "act-bits", po::value<int>()->default_value(2), "with --arch")(
      "first-last-bits", po::value<int>()->default_value(8), "with --arch")(
      "input", po::value<std::string>()->default_value(""), "CxHxW with --arch (default: its dataset's)")(
      "classes", po::value<int>()->default_value(0), "with --arch (default: its dataset's)")(
      "backend", po::value<std::string>()->default_value("all"), "a backend, or all available")(
      "engines", po::value<std::string>()->default_value(""),
      "comma-separated engines to run (default: libtorch-eager and every engine of the backends)")(
      "batch", po::value<std::string>()->default_value("1,64"), "batch sizes, comma-separated")(
      "threads", po::value<std::string>()->default_value("1,all"),
      "thread counts, comma-separated; all = every core")(
      "min-time", po::value<double>()->default_value(0.5),
      "seconds of timed runs per engine and configuration, in 5 rounds taken in turns (>= 0.01)")(
      "layers", po::bool_switch(), "also print the per-layer table (always in json)")(
      "format,f", po::value<std::string>()->default_value("text"), "text or json");
  po::variables_map vm;
  if (!parse("bench", "[--model FILE | --arch NAME] [options]", args, options, {}, vm)) return kOk;
  const std::string format = vm["format"].as<std::string>();
  if (format != "text" && format != "json")
    throw UsageError("--format: \"" + format + "\" (expected text or json)");
  const double min_time = vm["min-time"].as<double>();
  if (!(min_time >= 0.01 && min_time <= 600)) throw UsageError("--min-time: must be in [0.01, 600] seconds");
  const CpuInfo& cpu = cpu_info();
  const std::vector<int> batches = int_list("--batch", vm["batch"].as<std::string>(), 0);
  const std::vector<int> thread_counts =
      int_list("--threads", vm["threads"].as<std::string>(), cpu.logical_cores);

  std::vector<backends::Backend*> chosen;
  const std::string backend_name = vm["backend"].as<std::string>();
  if (backend_name == "all") {
    for (backends::Backend* b : backends::all())
      if (b->available().empty()) chosen.push_back(b);
  } else {
    backends::Backend& b = backends::get(backend_name);
    if (const std::string why = b.available(); !why.empty())
      throw InputError("backend \"" + backend_name + "\" is not available here: " + why);
    chosen.push_back(&b);
  }
  std::vector<std::pair<backends::Backend*, std::string>> engines;  // null backend: LibTorch eager
  std::vector<std::string> known = {kEager};
  for (backends::Backend* b : chosen)
    for (const std::string& e : b->engines()) known.push_back(e);
  const std::string engine_list = vm["engines"].as<std::string>();
  for (const std::string& e : engine_list.empty() ? known : split(engine_list, ',')) {
    if (e == kEager) {
      engines.emplace_back(nullptr, e);
      continue;
    }
    backends::Backend* owner = nullptr;
    for (backends::Backend* b : chosen)
      for (const std::string& name : b->engines())
        if (name == e) owner = b;
    if (!owner)
      throw UsageError("--engines: unknown engine \"" + e + "\" (known: " + join(known, ", ") + ")");
    engines.emplace_back(owner, e);
  }

  BenchModel m = vm.count("model")
                     ? bench_model_from_file(vm["model"].as<std::string>())
                     : bench_model_from_arch(vm["arch"].as<std::string>(),
                                             {vm["method"].as<std::string>(), vm["weight-bits"].as<int>(),
                                              vm["act-bits"].as<int>(), vm["first-last-bits"].as<int>()},
                                             vm["input"].as<std::string>(), vm["classes"].as<int>());
  const std::vector<double> macs = bench::layer_macs(m.model);
  double macs_per_image = 0;
  json layer_list = json::array();
  for (std::size_t i = 0; i < macs.size(); ++i) {
    macs_per_image += macs[i];
    layer_list.push_back({{"name", m.model.layers[i].name},
                          {"op", deploy::to_string(m.model.layers[i].op)},
                          {"macs", macs[i]}});
  }
  const double clock_ghz = measure_clock_ghz();

  json out = {{"r2q", {{"version", build_version()}, {"git_commit", build_git_commit()}}},
              {"model", {{"label", m.label}, {"macs_per_image", macs_per_image}, {"layers", layer_list}}},
              {"cpu",
               {{"model", cpu.model},
                {"threads", cpu.logical_cores},
                {"features", cpu.flags()},
                {"clock_ghz", clock_ghz},
                {"peak_fp32_mac_per_cycle", bench::fp32_peak_macs_per_cycle()}}},
              {"min_time_s", min_time},
              {"results", json::array()},
              {"ratios", json::array()}};
  std::map<std::string, std::size_t> weights;
  for (const int batch : batches)
    for (const int threads : thread_counts) {
      // Every engine planned first, then measured in turns (bench::measure_interleaved).
      std::vector<std::string> names;
      std::vector<std::unique_ptr<backends::Plan>> plans;  // null for LibTorch eager
      std::vector<std::function<void()>> calls;
      const deploy::FloatBatch input = bench::bench_input(m.model, batch);
      for (const auto& [backend, engine] : engines) {
        if (!backend && m.arch.empty())
          continue;  // a model file of an unknown architecture: no eager baseline
        names.push_back(engine);
        if (!backend) {
          plans.emplace_back();
          calls.push_back(eager_fp32_runner(m, batch));
          continue;
        }
        plans.push_back(backend->plan(m.model, {.engine = engine, .isa = "auto", .threads = threads}));
        calls.push_back([plan = plans.back().get(), &input] { plan->run(input); });
      }
      set_eager_threads(threads);
      const std::vector<std::vector<double>> rounds = bench::measure_interleaved(calls, min_time, kRounds);
      const bool per_layer = batch == batches.front() && threads == thread_counts.front();
      std::map<std::string, const std::vector<double>*> by_engine;
      for (std::size_t i = 0; i < names.size(); ++i) {
        Measured r;
        r.engine = plans[i] ? plans[i]->engine() : kEager;
        r.rounds = rounds[i];
        r.seconds = bench::median(rounds[i]);
        std::vector<std::string> paths;
        if (plans[i]) {
          paths = plans[i]->layer_paths();
          r.paths = &paths;
          r.weight_bytes = plans[i]->weight_bytes();
          weights.emplace(names[i], r.weight_bytes);  // the first thread count: one copy per plan
          if (per_layer) r.layer_seconds = bench::profile_layers(*plans[i], input, min_time);
        }
        out["results"].push_back(result_json(r, batch, threads, m, macs, clock_ghz));
        by_engine[names[i]] = &rounds[i];
      }
      // Speed-ups: the median over rounds of each round's ratio (both measured within seconds of each other).
      const auto shift = by_engine.find("shift-add");
      if (shift == by_engine.end()) continue;
      for (const auto& [engine, other] : by_engine) {
        if (engine == "shift-add") continue;
        std::vector<double> ratios;
        for (std::size_t k = 0; k < other->size(); ++k) ratios.push_back((*other)[k] / (*shift->second)[k]);
        out["ratios"].push_back({{"batch", batch},
                                 {"threads", threads},
                                 {"versus", engine},
                                 {"speedup", bench::median(ratios)},
                                 {"speedup_per_round", ratios}});
      }
    }
  if (weights.contains("shift-add") && weights.contains("onednn-fp32") && weights["shift-add"] > 0)
    out["weight_ratio"] =
        static_cast<double>(weights["onednn-fp32"]) / static_cast<double>(weights["shift-add"]);

  if (format == "json")
    std::cout << out.dump(2) << "\n";
  else
    print_text(out, vm["layers"].as<bool>());
  return kOk;
}

}  // namespace r2q::cli
