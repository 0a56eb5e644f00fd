// Grouping over seeds and summary statistics.
#include "reports/aggregate.h"

#include <algorithm>
#include <charconv>
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

TableBuilder::TableBuilder(std::string experiment) {
  table_.experiment = std::move(experiment);
}

std::size_t TableBuilder::add_run(const std::string& group_key, const std::function<json()>& seedless_config,
                                  std::optional<std::int64_t> seed, store::RunStatus status,
                                  const std::string& commit) {
  auto [it, added] = group_of_.try_emplace(group_key, table_.groups.size());
  if (added) {
    Group g;
    g.config = seedless_config();
    table_.groups.push_back(std::move(g));
    samples_.emplace_back();
  }
  const std::size_t run = group_index_.size();
  Group& g = table_.groups[it->second];
  group_index_.push_back(it->second);
  finished_.push_back(status == store::RunStatus::Finished);
  g.members.push_back(run);
  ++g.runs;
  if (status == store::RunStatus::Failed) ++g.failed;
  if (status == store::RunStatus::Finished) {
    ++g.finished;
    if (seed) g.seeds.push_back(*seed);
    if (!commits_.contains(commit)) commits_.insert(commit);
  }
  return run;
}

void TableBuilder::add_metric(std::size_t run, const std::string& name, double value) {
  if (!finished_[run]) return;
  // Every run tends to have the same metrics in the same order: try the one after the last before hashing.
  std::size_t id = next_metric_;
  if (id >= metric_names_.size() || metric_names_[id] != name) {
    auto [it, added] = metric_id_.try_emplace(name, metric_names_.size());
    if (added) metric_names_.push_back(name);
    id = it->second;
  }
  next_metric_ = id + 1;
  auto& by_metric = samples_[group_index_[run]];
  if (by_metric.size() <= id) by_metric.resize(metric_names_.size());
  auto& values = by_metric[id];
  if (values.empty()) values.reserve(8);
  values.push_back(value);
}

void TableBuilder::add_curve_point(std::size_t run, const std::string& name, std::int64_t step,
                                   double value) {
  if (!finished_[run]) return;
  auto& [sum, n] = table_.groups[group_index_[run]].curve_sums[name][step];
  sum += value;
  ++n;
}

Table TableBuilder::finish() {
  Table table = std::move(table_);
  // Config paths whose value differs between groups, or that some groups lack, are the row labels.
  std::vector<std::map<std::string, json>> flat(table.groups.size());
  struct Seen {
    const json* first = nullptr;
    bool differs = false;
    std::size_t groups = 0;
  };
  std::map<std::string, Seen> seen;
  for (size_t g = 0; g < table.groups.size(); ++g) {
    flatten(table.groups[g].config, "", flat[g]);
    for (const auto& [path, value] : flat[g]) {
      Seen& s = seen[path];
      if (!s.first)
        s.first = &value;
      else if (!s.differs && (value.type() != s.first->type() || value != *s.first))
        s.differs = true;
      ++s.groups;
    }
  }
  for (const auto& [path, s] : seen)
    if (s.differs || s.groups < table.groups.size()) table.varying.push_back(path);
  for (size_t g = 0; g < table.groups.size(); ++g)
    for (const auto& path : table.varying)
      table.groups[g].values[path] = flat[g].count(path) ? flat[g][path] : json();

  for (size_t i = 0; i < table.groups.size(); ++i) {
    Group& g = table.groups[i];
    for (size_t id = 0; id < samples_[i].size(); ++id) {
      auto& values = samples_[i][id];
      if (values.empty()) continue;
      // Sorted samples make the sums (and the bootstrap's resamples) independent of the order runs were read.
      std::sort(values.begin(), values.end());
      g.metrics.emplace(metric_names_[id], summarize(values));
      g.samples.emplace(metric_names_[id], std::move(values));
    }
    std::sort(g.seeds.begin(), g.seeds.end());
  }
  table.metrics = metric_names_;
  std::sort(table.metrics.begin(), table.metrics.end());
  table.commits.assign(commits_.begin(), commits_.end());
  table_ = Table{};
  group_of_.clear();
  group_index_.clear();
  finished_.clear();
  metric_id_.clear();
  metric_names_.clear();
  next_metric_ = 0;
  samples_.clear();
  commits_.clear();
  return table;
}

Table aggregate(const std::string& experiment, const std::vector<RunResult>& runs) {
  TableBuilder builder(experiment);
  for (const auto& r : runs) {
    json without_seed = r.config;
    std::optional<std::int64_t> seed;
    if (without_seed.is_object() && without_seed.contains("seed")) {
      if (without_seed["seed"].is_number_integer()) seed = without_seed["seed"].get<std::int64_t>();
      without_seed.erase("seed");
    }
    const std::size_t run = builder.add_run(
        spec::canonical_json(without_seed), [&] { return without_seed; }, seed, r.status,
        r.git_commit.substr(0, 12) + (r.git_dirty ? "+dirty" : ""));
    for (const auto& [name, value] : r.metrics) builder.add_metric(run, name, value);
    for (const auto& [name, points] : r.curves)
      for (const auto& [step, value] : points) builder.add_curve_point(run, name, step, value);
  }
  return builder.finish();
}

std::string seedless_config_text(std::string_view config, std::optional<std::int64_t>& seed) {
  seed.reset();
  // Walk the top-level object's members: depth counts brackets outside strings.
  int depth = 0;
  bool in_string = false, escaped = false;
  std::size_t member_start = std::string_view::npos;  // index of the '{' or ',' before a top-level member
  for (std::size_t i = 0; i < config.size(); ++i) {
    const char c = config[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      if (depth == 1 && member_start != std::string_view::npos && i == member_start + 1 &&
          config.substr(i, 7) == "\"seed\":") {
        // The value runs to the next top-level ',' or the closing '}'; a seed is an integer.
        std::size_t end = i + 7;
        while (end < config.size() && config[end] != ',' && config[end] != '}') ++end;
        std::int64_t value = 0;
        const char* first = config.data() + i + 7;
        const char* last = config.data() + end;
        if (auto [ptr, ec] = std::from_chars(first, last, value); ec == std::errc() && ptr == last)
          seed = value;
        std::string out(config.substr(0, i));
        if (end < config.size() && config[end] == ',') {
          out.append(config.substr(end + 1));  // {"seed":1,"x":...}  or  ...,"seed":1,"x":...
        } else {
          if (config[member_start] == ',') out.pop_back();  // ...,"seed":1}
          out.append(config.substr(end));
        }
        return out;
      }
      in_string = true;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
      if (depth == 1 && c == '{') member_start = i;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 1) {
      member_start = i;
    }
  }
  return std::string(config);
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
