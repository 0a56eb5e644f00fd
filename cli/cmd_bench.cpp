// r2q bench: deployment latency of one model on every engine — LibTorch eager fp32 and each backend's engines
// — at several batch sizes and thread counts, end to end and per layer, with MAC/s, percent of this CPU's
// peak, weight memory, and the reference engine's speed-ups measured side by side in this one process. The
// measuring is backends/bench_session.h's; this file parses the options and prints.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "backends/backend.h"
#include "backends/bench.h"
#include "backends/bench_session.h"
#include "backends/cpu/shift_add_conv.h"
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
namespace cpu = backends::cpu;

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
    throw UsageError(option + ": " + quoted_value(part) + " (expected positive integers" +
                     (all ? " or all" : "") + ", comma-separated)");
  }
  if (out.empty()) throw UsageError(option + " is empty");
  return out;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

json to_json(const bench::EngineResult& r) {
  json j = {{"engine", r.engine},
            {"batch", r.batch},
            {"threads", r.threads},
            {"seconds", r.seconds},
            {"seconds_per_round", r.rounds},
            {"calls_per_sample", r.calls_per_sample},
            {"us_per_image", r.seconds * 1e6 / r.batch},
            {"images_per_s", r.batch / r.seconds},
            {"gmac_per_s", r.gmac_per_s}};
  if (r.percent_of_peak) j["percent_of_peak"] = *r.percent_of_peak;
  if (!r.note.empty()) j["note"] = r.note;
  if (r.weight_bytes) j["weight_bytes"] = *r.weight_bytes;
  if (!r.layers.empty()) {
    json layers = json::array();
    for (const auto& l : r.layers) {
      json layer = {{"name", l.name}, {"path", l.path}, {"seconds", l.seconds}, {"macs", l.macs}};
      if (l.gmac_per_s) layer["gmac_per_s"] = *l.gmac_per_s;
      if (l.percent_of_peak) layer["percent_of_peak"] = *l.percent_of_peak;
      layers.push_back(layer);
    }
    j["layers"] = layers;
  }
  return j;
}

// Each shift-add kernel that runs here: its measured roofline and the port model's, in one-bit products per
// cycle.
std::vector<std::pair<std::string, std::pair<double, double>>> shift_add_rooflines() {
  std::vector<std::pair<std::string, std::pair<double, double>>> out;
  for (cpu::Isa isa : cpu::available_isas())
    out.push_back({std::string(cpu::isa_name(isa)),
                   {cpu::one_bit_products_per_cycle(isa), bench::model_one_bit_products_per_cycle(isa)}});
  return out;
}

// Each dot-product kernel that runs here, by name: its measured roofline and the port model's, in MACs per
// cycle.
std::vector<std::pair<std::string, std::pair<double, double>>> dot_rooflines() {
  std::vector<std::pair<std::string, std::pair<double, double>>> out;
  for (cpu::Isa isa : cpu::available_isas())
    if (const double dot = cpu::dot_macs_per_cycle(isa); dot > 0)
      out.push_back({std::string(cpu::dot_product_name(isa)), {dot, bench::model_dot_macs_per_cycle(isa)}});
  return out;
}

std::string or_dash(const std::optional<double>& v, int digits) {
  return v ? fixed(*v, digits) : "-";
}

void print_text(const bench::Results& results, const std::string& label, double macs_per_image,
                std::size_t layers, const CpuInfo& cpu, double clock_ghz, double sample_ms,
                bool show_layers) {
  std::cout << "model    " << label << "\n         " << fixed(macs_per_image / 1e6, 2) << " MMAC per image, "
            << layers << " layers\n"
            << "cpu      " << cpu.model << ", " << cpu.logical_cores << " threads, clock "
            << fixed(clock_ghz, 2) << " GHz (measured), " << join(cpu.flags(), " ") << "\n";
  std::cout << "roofline shift-add one-bit products per cycle, measured (port model):";
  for (const auto& [isa, rates] : shift_add_rooflines())
    std::cout << " " << isa << " " << fixed(rates.first, 0) << " (" << fixed(rates.second, 0) << ")";
  std::cout << "; a k-bit x l-bit MAC is k l of them\n";
  std::string dots;
  for (const auto& [name, rates] : dot_rooflines())
    dots += " " + name + " " + fixed(rates.first, 0) + " (" + fixed(rates.second, 0) + ")";
  if (!dots.empty())
    std::cout << "roofline dot products MACs per cycle, measured (port model):" << dots
              << ", at any bit widths\n";
  std::cout << "\n";
  std::printf("%-26s %5s %7s %12s %12s %9s %7s %12s\n", "engine", "batch", "threads", "latency", "us/image",
              "GMAC/s", "% peak", "weights");
  for (const auto& r : results.results)
    std::printf("%-26s %5d %7d %9s ms %12s %9s %7s %12s\n", r.engine.c_str(), r.batch, r.threads,
                fixed(r.seconds * 1e3, 3).c_str(), fixed(r.seconds * 1e6 / r.batch, 1).c_str(),
                fixed(r.gmac_per_s, 2).c_str(), or_dash(r.percent_of_peak, 1).c_str(),
                r.weight_bytes ? std::to_string(*r.weight_bytes).c_str() : "-");
  std::cout << "latency: median of " << kRounds << " rounds in turns, each the median of its samples";
  if (sample_ms > 0)
    std::cout << ", a sample being as many consecutive runs as take about " << fixed(sample_ms, 1)
              << " ms (per run: the sample's time over its runs)";
  std::cout << "\n";
  if (!results.speedups.empty()) {
    std::cout << "\n"
              << results.reference << " speed-up, measured side by side (other engine's latency / "
              << results.reference << "'s, median of " << kRounds << " rounds in turns):\n";
    for (const auto& q : results.speedups)
      std::cout << "  batch " << q.batch << ", " << q.threads << " thread(s): vs " << q.versus << " "
                << fixed(q.speedup, 2) << "x\n";
  }
  if (results.weight_ratio)
    std::cout << "weights: " << results.weight_ratio->first << " / " << results.reference << " = "
              << fixed(results.weight_ratio->second, 1) << "x\n";
  if (!show_layers) return;
  for (const auto& r : results.results) {
    if (r.layers.empty()) continue;
    std::cout << "\n"
              << r.engine << ", batch " << r.batch << ", " << r.threads
              << " thread(s), per layer (medians):\n";
    for (const auto& l : r.layers)
      std::printf("  %-28s %10s us %8s GMAC/s %6s %%  %s\n", l.name.c_str(),
                  fixed(l.seconds * 1e6, 1).c_str(), or_dash(l.gmac_per_s, 2).c_str(),
                  or_dash(l.percent_of_peak, 1).c_str(), l.path.c_str());
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
      "seconds of timed runs per engine and configuration, in 5 rounds taken in turns (>= 0.01; each round "
      "takes at least 3 samples)")(
      "sample-ms", po::value<double>()->default_value(10),
      "a timed sample's length: shorter runs are timed in groups of about that long (a longer run alone), so "
      "that every batch size's time carries its share of the machine's interruptions (0: one run per "
      "sample)")("layers", po::bool_switch(), "also print the per-layer table (always in json)")(
      "format,f", po::value<std::string>()->default_value("text"), "text or json");
  po::variables_map vm;
  if (!parse("bench", "[--model FILE | --arch NAME] [options]", args, options, {}, vm)) return kOk;
  const std::string format = vm["format"].as<std::string>();
  if (format != "text" && format != "json")
    throw UsageError("--format: " + quoted_value(format) + " (expected text or json)");
  const double min_time = vm["min-time"].as<double>();
  if (!(min_time >= 0.01 && min_time <= 600)) throw UsageError("--min-time: must be in [0.01, 600] seconds");
  const double sample_ms = vm["sample-ms"].as<double>();
  if (!(sample_ms >= 0 && sample_ms <= 1000))
    throw UsageError("--sample-ms: must be in [0, 1000] milliseconds");
  const CpuInfo& cpu = cpu_info();
  const std::vector<int> batches = int_list("--batch", vm["batch"].as<std::string>(), 0);
  const std::vector<int> thread_counts =
      int_list("--threads", vm["threads"].as<std::string>(), cpu.logical_cores);

  std::vector<bench::EngineChoice> engines;
  try {
    engines = bench::choose_engines(vm["backend"].as<std::string>(), vm["engines"].as<std::string>(), kEager);
  } catch (const InputError& e) {
    throw UsageError(e.what());
  }
  BenchModel m = vm.count("model")
                     ? bench_model_from_file(vm["model"].as<std::string>())
                     : bench_model_from_arch(vm["arch"].as<std::string>(),
                                             {vm["method"].as<std::string>(), vm["weight-bits"].as<int>(),
                                              vm["act-bits"].as<int>(), vm["first-last-bits"].as<int>()},
                                             vm["input"].as<std::string>(), vm["classes"].as<int>());
  // A model file of an unknown architecture has no eager baseline.
  if (m.arch.empty()) std::erase_if(engines, [](const bench::EngineChoice& e) { return !e.backend; });

  bench::Request request;
  request.model = &m.model;
  request.engines = engines;
  request.baseline = [&m](int batch) { return eager_fp32_runner(m, batch); };
  request.set_baseline_threads = set_eager_threads;
  request.batches = batches;
  request.threads = thread_counts;
  request.min_seconds = min_time;
  request.rounds = kRounds;
  request.min_sample_seconds = sample_ms / 1e3;
  request.clock_ghz = measure_clock_ghz();
  const bench::Results results = bench::run(request);

  const std::vector<double> macs = bench::layer_macs(m.model);
  double macs_per_image = 0;
  for (double v : macs) macs_per_image += v;
  if (format == "text") {
    print_text(results, m.label, macs_per_image, macs.size(), cpu, request.clock_ghz, sample_ms,
               vm["layers"].as<bool>());
    return kOk;
  }
  json layer_list = json::array();
  for (std::size_t i = 0; i < macs.size(); ++i)
    layer_list.push_back({{"name", m.model.layers[i].name},
                          {"op", deploy::to_string(m.model.layers[i].op)},
                          {"macs", macs[i]}});
  json rooflines = json::object();
  for (const auto& [isa, rates] : shift_add_rooflines())
    rooflines[isa] = {{"measured", rates.first}, {"port_model", rates.second}};
  json dots = json::object();
  for (const auto& [name, rates] : dot_rooflines())
    dots[name] = {{"measured", rates.first}, {"port_model", rates.second}};
  json out = {{"r2q", {{"version", build_version()}, {"git_commit", build_git_commit()}}},
              {"model", {{"label", m.label}, {"macs_per_image", macs_per_image}, {"layers", layer_list}}},
              {"cpu",
               {{"model", cpu.model},
                {"threads", cpu.logical_cores},
                {"features", cpu.flags()},
                {"clock_ghz", request.clock_ghz},
                {"peak_fp32_mac_per_cycle", bench::fp32_peak_macs_per_cycle()},
                {"shift_add_one_bit_products_per_cycle", rooflines},
                {"dot_product_mac_per_cycle", dots}}},
              {"min_time_s", min_time},
              {"min_sample_ms", sample_ms},
              {"reference", results.reference},
              {"results", json::array()},
              {"ratios", json::array()}};
  for (const auto& r : results.results) out["results"].push_back(to_json(r));
  for (const auto& q : results.speedups)
    out["ratios"].push_back({{"batch", q.batch},
                             {"threads", q.threads},
                             {"versus", q.versus},
                             {"speedup", q.speedup},
                             {"speedup_per_round", q.per_round}});
  if (results.weight_ratio) {
    out["weight_ratio"] = results.weight_ratio->second;
    out["weight_ratio_of"] = results.weight_ratio->first;
  }
  std::cout << out.dump(2) << "\n";
  return kOk;
}

}  // namespace r2q::cli
