// Grouping over seeds and summary statistics.
#include "reports/aggregate.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>
#include <unordered_map>

#include "core/spec/run_key.h"

namespace r2q::reports {
namespace {

using nlohmann::json;

void flatten(const json& value, const std::string& prefix, std::map<std::string, json>& out) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it)
      flatten(*it, prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else {
    out[prefix] = value;
  }
}

}  // namespace

Stat summarize(const std::vector<double>& values) {
  Stat s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / s.n;
  if (s.n > 1) {
    double sq = 0;
    for (double v : values) sq += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(sq / (s.n - 1));
  }
  return s;
}

Table aggregate(const std::string& experiment, const std::vector<RunResult>& runs) {
  Table table;
  table.experiment = experiment;

  // Runs that differ only in their seed form a group, in order of first appearance.
  std::unordered_map<std::string, size_t> group_of;  // canonical config without seed -> index
  std::vector<size_t> group_index(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    json without_seed = runs[i].config;
    without_seed.erase("seed");
    auto [it, added] = group_of.emplace(spec::canonical_json(without_seed), table.groups.size());
    if (added) {
      Group g;
      g.config = std::move(without_seed);
      table.groups.push_back(std::move(g));
    }
    group_index[i] = it->second;
  }

  // Config paths whose value differs between groups are the row labels.
  std::vector<std::map<std::string, json>> flat(table.groups.size());
  std::map<std::string, std::set<std::string>> distinct;
  for (size_t g = 0; g < table.groups.size(); ++g) {
    flatten(table.groups[g].config, "", flat[g]);
    for (const auto& [path, value] : flat[g]) distinct[path].insert(value.dump());
  }
  for (const auto& [path, values] : distinct)
    if (values.size() > 1 ||
        (table.groups.size() > 1 && values.size() == 1 &&
         std::any_of(flat.begin(), flat.end(), [&](const auto& f) { return !f.count(path); })))
      table.varying.push_back(path);
  for (size_t g = 0; g < table.groups.size(); ++g)
    for (const auto& path : table.varying)
      table.groups[g].values[path] = flat[g].count(path) ? flat[g][path] : json();

  std::set<std::string> metric_names, commits;
  for (size_t i = 0; i < runs.size(); ++i) {
    Group& g = table.groups[group_index[i]];
    g.members.push_back(i);
    ++g.runs;
    if (runs[i].status == store::RunStatus::Failed) ++g.failed;
    if (runs[i].status != store::RunStatus::Finished) continue;
    ++g.finished;
    if (runs[i].config.contains("seed")) g.seeds.push_back(runs[i].config["seed"].get<std::int64_t>());
    for (const auto& [name, value] : runs[i].metrics) {
      auto [it, added] = g.samples.try_emplace(name);
      it->second.push_back(value);
      if (added) metric_names.insert(name);
    }
    commits.insert(runs[i].git_commit.substr(0, 12) + (runs[i].git_dirty ? "+dirty" : ""));
  }
  for (auto& g : table.groups) {
    for (const auto& [name, values] : g.samples) g.metrics[name] = summarize(values);
    std::sort(g.seeds.begin(), g.seeds.end());
  }
  table.metrics.assign(metric_names.begin(), metric_names.end());
  table.commits.assign(commits.begin(), commits.end());
  return table;
}

std::vector<RunResult> load_results(store::Store& store, const std::string& experiment,
                                    const LoadOptions& options) {
  auto finals = store.final_metrics_of(experiment);
  auto series = options.curves.empty() ? decltype(store.series_of(experiment, {})){}
                                       : store.series_of(experiment, options.curves);
  std::vector<RunResult> out;
  for (auto& record : store.runs(experiment, /*environment=*/false)) {
    RunResult r;
    r.key = record.key;
    r.config = std::move(record.config);
    r.status = record.status;
    r.git_commit = record.git_commit.value_or("unknown");
    r.git_dirty = record.git_dirty;
    if (auto it = finals.find(r.key); it != finals.end()) r.metrics = std::move(it->second);
    if (auto it = series.find(r.key); it != series.end()) r.curves = std::move(it->second);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<double> fgsm_eps(const Table& table) {
  std::vector<double> eps;
  const std::string prefix = "test/fgsm/", suffix = "/acc";
  for (const auto& name : table.metrics) {
    if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size() + suffix.size()) continue;
    if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    eps.push_back(std::stod(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size())));
  }
  std::sort(eps.begin(), eps.end());
  return eps;
}

std::vector<AttackColumn> attack_columns(const Table& table) {
  // metric = <prefix><eps>/acc; the kind orders FGSM < PGD < transfer.
  struct Found {
    int kind;
    std::string family;
    double eps;
    AttackColumn column;
  };
  std::vector<Found> found;
  const std::string suffix = "/acc";
  for (const auto& name : table.metrics) {
    if (!name.starts_with("test/") || !name.ends_with(suffix)) continue;
    const auto slash = name.rfind('/', name.size() - suffix.size() - 1);
    const std::string family = name.substr(0, slash + 1);  // "test/pgd10/"
    const std::string eps_text = name.substr(slash + 1, name.size() - suffix.size() - slash - 1);
    double eps = 0;
    try {
      eps = std::stod(eps_text);
    } catch (const std::exception&) {
      continue;
    }
    if (family == "test/fgsm/") {
      if (eps > 0) found.push_back({0, family, eps, {"FGSM " + eps_text, name}});
    } else if (family.starts_with("test/pgd")) {
      const std::string steps = family.substr(8, family.size() - 9);
      found.push_back({1, family, eps, {"PGD-" + steps + " " + eps_text, name}});
    } else if (family == "test/transfer-fgsm/") {
      found.push_back({2, family, eps, {"transfer " + eps_text, name}});
    }
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return std::tie(a.kind, a.family, a.eps) < std::tie(b.kind, b.family, b.eps);
  });
  std::vector<AttackColumn> out;
  for (auto& f : found) out.push_back(std::move(f.column));
  return out;
}

}  // namespace r2q::reports
