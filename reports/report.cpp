// Building the format-neutral report.
#include "reports/report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

#include "core/spec/schema.h"
#include "core/store/metric_names.h"
#include "core/util/build_info.h"
#include "core/util/error.h"
#include "core/util/sha256.h"
#include "core/util/text.h"

namespace r2q::reports {
namespace {

using nlohmann::json;

bool glob_match(const std::string& pattern, const std::string& text) {
  // '*' matches any run of characters; everything else matches itself.
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// A column for any metric name: its header and unit from the name's shape.
Column column_for(const Table& table, const std::string& metric) {
  for (const auto& a : attack_columns(table))
    if (a.metric == metric) return {a.header, metric, "%", true};
  if (metric == metric::kTestAcc) return {"clean acc", metric, "%", true};
  if (metric == metric::fgsm_acc(0)) return {"FGSM 0", metric, "%", true};
  if (metric == metric::kTrainSeconds) return {"train time", metric, "s", false};
  if (metric.ends_with("/latency_us")) {
    // deploy/<backend>/latency_us
    const auto first = metric.find('/'), last = metric.rfind('/');
    return {metric.substr(first + 1, last - first - 1) + " latency", metric, "us", false};
  }
  const bool accuracy = metric.ends_with("/acc");
  const bool lower = metric.ends_with("seconds") || metric.ends_with("loss") || metric.ends_with("_us");
  return {metric, metric, accuracy ? "%" : "", !lower};
}

std::optional<double> mean_of(const Group& g, const std::string& metric) {
  auto it = g.metrics.find(metric);
  if (it == g.metrics.end() || it->second.n == 0) return std::nullopt;
  return it->second.mean;
}

// 95% percentile bootstrap interval of the mean; deterministic (seeded from the sample values' count).
std::pair<double, double> bootstrap_interval(const std::vector<double>& values, int resamples) {
  std::mt19937_64 rng(0x5eed + values.size());
  std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
  std::vector<double> means(static_cast<size_t>(resamples));
  for (auto& m : means) {
    double sum = 0;
    for (size_t i = 0; i < values.size(); ++i) sum += values[pick(rng)];
    m = sum / static_cast<double>(values.size());
  }
  std::sort(means.begin(), means.end());
  auto at = [&](double q) {
    const double pos = q * static_cast<double>(means.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, means.size() - 1);
    return means[lo] + (pos - static_cast<double>(lo)) * (means[hi] - means[lo]);
  };
  return {at(0.025), at(0.975)};
}

// The dataset and model of a group: FP32 references are looked up by these.
std::string workload_of(const json& config) {
  auto get = [&](const char* a, const char* b) {
    return config.contains(a) && config[a].contains(b) ? config[a][b].dump() : std::string("null");
  };
  return get("dataset", "name") + "|" + get("model", "name");
}

bool is_fp32(const json& config) {
  return config.contains("quant") && config["quant"].value("method", "") == "fp32";
}

std::vector<Curve> mean_curves(const Group& g) {
  std::vector<Curve> out;
  for (const auto& [name, by_step] : g.curve_sums) {
    Curve c;
    c.metric = name;
    for (const auto& [step, sn] : by_step) {
      c.epochs.push_back(step);
      c.mean.push_back(sn.first / sn.second);
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string fixed(double v, int decimals) {
  // to_chars is printf's "%.*f" (C locale), several times faster: a large report formats ~10^6 numbers.
  char buf[400];  // the widest double in fixed notation, 309 digits, plus decimals
  auto end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals).ptr;
  return std::string(buf, end);
}

}  // namespace

Where parse_where(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--where " + quoted_value(text) + ": expected PATH=VALUE, e.g. quant.method=r2q");
  Where w;
  w.path = text.substr(0, eq);
  // A path no run config has would match nothing, and "no runs match" would hide the typo.
  if (!spec::find_field(w.path) && !spec::is_object_path(w.path)) {
    const std::string hint = closest_match(w.path, spec::field_paths());
    throw InputError("--where " + quoted_value(text) + ": " + quoted_value(w.path) +
                     " is not a run config field" +
                     (hint.empty() ? " (docs/CLI.md lists the spec fields)"
                                   : " (did you mean " + quoted_value(hint) + "?)"));
  }
  const std::string value = text.substr(eq + 1);
  try {
    w.value = json_depth(value) > kMaxJsonDepth ? json(value) : json::parse(value);
  } catch (const json::exception&) {
    w.value = value;
  }
  return w;
}

bool matches(const json& config, const std::vector<Where>& where) {
  for (const auto& w : where) {
    const json* node = &config;
    for (const auto& part : split(w.path, '.')) {
      if (!node->is_object() || !node->contains(part)) return false;
      node = &(*node)[part];
    }
    // Numbers compare by value (3 == 3.0); everything else exactly.
    if (node->is_number() && w.value.is_number()) {
      if (node->get<double>() != w.value.get<double>()) return false;
    } else if (*node != w.value) {
      return false;
    }
  }
  return true;
}

std::vector<Column> default_columns(const Table& table) {
  std::vector<Column> columns;
  const std::set<std::string> present(table.metrics.begin(), table.metrics.end());
  if (present.count(metric::kTestAcc)) columns.push_back(column_for(table, metric::kTestAcc));
  for (const auto& a : attack_columns(table)) columns.push_back({a.header, a.metric, "%", true});
  if (present.count(metric::kTrainSeconds)) columns.push_back(column_for(table, metric::kTrainSeconds));
  for (const auto& name : table.metrics)
    if (name.starts_with("deploy/") && name.ends_with("/latency_us"))
      columns.push_back(column_for(table, name));
  return columns;
}

std::vector<Column> select_columns(const Table& table, const std::vector<std::string>& patterns) {
  std::vector<Column> columns;
  std::set<std::string> taken;
  const auto defaults = default_columns(table);
  for (const auto& pattern : patterns) {
    bool any = false;
    auto take = [&](const Column& c) {
      any = true;
      if (taken.insert(c.metric).second) columns.push_back(c);
    };
    for (const auto& c : defaults)
      if (c.header == pattern) take(c);
    for (const auto& name : table.metrics)
      if (glob_match(pattern, name)) take(column_for(table, name));
    if (!any && !table.metrics.empty())
      throw InputError("--metrics: " + quoted_value(pattern) + " matches no metric of experiment " +
                       table.experiment + " (it has: " + join(table.metrics, ", ") + ")");
  }
  return columns;
}

ReportTable make_table(Table table, const ReportOptions& options) {
  ReportTable out;
  out.experiment = table.experiment;
  out.axes = table.varying;
  out.columns = options.metrics.empty() ? default_columns(table) : select_columns(table, options.metrics);

  // FP32 rows are the references of the rows of the same dataset and model.
  std::map<std::string, size_t> reference_of;
  for (size_t r = 0; r < table.groups.size(); ++r)
    if (is_fp32(table.groups[r].config) && table.groups[r].finished > 0)
      reference_of.emplace(workload_of(table.groups[r].config), r);

  for (size_t r = 0; r < table.groups.size(); ++r) {
    Group& g = table.groups[r];
    Row row;
    row.reference = is_fp32(g.config);
    if (auto it = reference_of.find(workload_of(g.config)); it != reference_of.end() && !row.reference)
      row.reference_row = it->second;
    row.axes = std::move(g.values);
    row.config = std::move(g.config);
    row.seeds = std::move(g.seeds);
    row.runs = g.runs;
    row.finished = g.finished;
    row.failed = g.failed;
    for (const auto& c : out.columns) {
      Cell cell;
      if (auto it = g.metrics.find(c.metric); it != g.metrics.end()) cell.stat = it->second;
      if (row.reference_row && cell.stat.n > 0)
        if (auto ref = mean_of(table.groups[*row.reference_row], c.metric))
          cell.delta = cell.stat.mean - *ref;
      if (options.bootstrap && cell.stat.n > 1) {
        auto [lo, hi] = bootstrap_interval(g.samples.at(c.metric), options.bootstrap_resamples);
        cell.ci_low = lo;
        cell.ci_high = hi;
      }
      row.cells.push_back(cell);
    }
    out.rows.push_back(std::move(row));
    out.runs += g.runs;
    out.finished += g.finished;
    out.failed += g.failed;
  }
  // Curves were loaded (--curves): every row gets its per-epoch means.
  if (std::any_of(table.groups.begin(), table.groups.end(),
                  [](const Group& g) { return !g.curve_sums.empty(); }))
    for (const Group& g : table.groups) out.curves.push_back(mean_curves(g));

  // Best of each column among the rows being compared: the quantized rows when there is an FP32 reference,
  // else all rows. Ties are all best.
  const bool any_reference = !reference_of.empty();
  for (size_t c = 0; c < out.columns.size(); ++c) {
    std::optional<double> best;
    for (const auto& row : out.rows) {
      if ((any_reference && row.reference) || row.cells[c].stat.n == 0) continue;
      const double v = row.cells[c].stat.mean;
      if (!best || (out.columns[c].higher_is_better ? v > *best : v < *best)) best = v;
    }
    if (!best) continue;
    for (auto& row : out.rows)
      if (!(any_reference && row.reference) && row.cells[c].stat.n > 0 && row.cells[c].stat.mean == *best)
        row.cells[c].best = true;
  }
  return out;
}

std::string run_digest(const std::string& key, store::RunStatus status) {
  std::string digest = key;
  digest += ' ';
  digest += store::to_string(status);
  digest += '\n';
  return digest;
}

void add_to_digest(std::string& digest, const std::string& metric, double value) {
  // Timings differ between identical runs; the hash is of results.
  if (metric.find("seconds") != std::string::npos || metric.find("images_per_s") != std::string::npos ||
      metric.find("latency") != std::string::npos)
    return;
  // Shortest round-trip form: equal doubles, equal text.
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  digest += "  ";
  digest += metric;
  digest += ' ';
  digest.append(buf, end);
  digest += '\n';
}

std::string results_hash(std::vector<std::pair<std::string, std::string>> digests) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(digests.size());
  std::size_t size = 0;
  for (const auto& d : digests) {
    sorted.push_back(&d);
    size += d.second.size();
  }
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return *a < *b; });
  std::string text;
  text.reserve(size);
  for (const auto* d : sorted) text += d->second;
  return sha256_hex(text);
}

std::string results_hash(const std::vector<RunResult>& runs) {
  std::vector<std::pair<std::string, std::string>> digests;
  digests.reserve(runs.size());
  for (const auto& r : runs) {
    std::string digest = run_digest(r.key, r.status);
    for (const auto& [name, value] : r.metrics) add_to_digest(digest, name, value);
    digests.emplace_back(r.key, std::move(digest));
  }
  return results_hash(std::move(digests));
}

std::string math_item(const json& env) {
  if (!env.contains("math") || !env["math"].is_object()) return "unrecorded";
  const json& m = env["math"];
  std::string level = "baseline";
  if (env.contains("cpu") && env["cpu"].contains("isa") && env["cpu"]["isa"].is_array())
    for (const json& flag : env["cpu"]["isa"]) {
      if (flag == "avx512f") level = "avx512";
      if (flag == "avx2" && level == "baseline") level = "avx2";
    }
  return m.value("mode", "?") + ", CPU " + level + ", LibTorch " + m.value("aten_cpu_capability", "?") +
         ", oneDNN " + m.value("onednn_isa", "?");
}

Footer make_footer(const std::string& store_path, FooterRuns runs, const std::vector<json>& environments) {
  Footer f;
  f.store_path = store_path;
  f.store_hash = results_hash(std::move(runs.digests));
  f.generated_by = std::string("r2q ") + build_version();
  std::set<std::string> cpus, math;
  for (const json& env : environments) {
    if (!env.is_object()) continue;
    math.insert(math_item(env));
    for (const char* name : {"libtorch", "onednn", "sqlite", "compiler"})
      if (env.contains(name) && env[name].is_string()) {
        auto& v = f.versions[name];
        const std::string value = env[name].get<std::string>();
        if (v.find(value) == std::string::npos) v += (v.empty() ? "" : ", ") + value;
      }
    if (env.contains("r2q") && env["r2q"].contains("version")) {
      auto& v = f.versions["r2q"];
      const std::string value = env["r2q"]["version"].get<std::string>();
      if (v.find(value) == std::string::npos) v += (v.empty() ? "" : ", ") + value;
    }
    if (env.contains("cpu") && env["cpu"].contains("model"))
      cpus.insert(env["cpu"]["model"].get<std::string>());
  }
  f.seeds.assign(runs.seeds.begin(), runs.seeds.end());
  f.commits.assign(runs.commits.begin(), runs.commits.end());
  f.cpus.assign(cpus.begin(), cpus.end());
  f.math.assign(math.begin(), math.end());
  return f;
}

std::vector<std::string> Footer::seed_items() const {
  std::vector<std::string> items;
  for (auto s : seeds) items.push_back(std::to_string(s));
  return items;
}

std::vector<std::string> Footer::version_items() const {
  std::vector<std::string> items;
  for (const auto& [name, version] : versions) items.push_back(name + " " + version);
  return items;
}

std::string format_value(const Column& column, const Stat& stat, int decimals) {
  if (stat.n == 0) return "–";
  const double scale = column.scale();
  const int d = column.unit == "s" || column.unit == "us" ? 0 : decimals;
  if (stat.n == 1) return fixed(scale * stat.mean, d);
  return fixed(scale * stat.mean, d) + " ± " + fixed(scale * stat.std, d);
}

std::string format_delta(const Column& column, double delta, int decimals) {
  const int d = column.unit == "s" || column.unit == "us" ? 0 : decimals;
  const std::string text = fixed(std::abs(column.scale() * delta), d);
  if (text.find_first_not_of("0.") == std::string::npos) return text;  // no difference at this precision
  return (delta < 0 ? "\u2212" : "+") + text;
}

std::string format_axis(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "–";
  return value.dump();
}

}  // namespace r2q::reports
