// Store -> Report, in three passes over the store (experiment links, runs; metrics on a second thread): each
// table is read once in storage order and no run is held as a whole, so a report over 100,000 runs stays fast
// and small.
#include "reports/collect.h"

#include <algorithm>
#include <future>
#include <unordered_map>
#include <unordered_set>

#include "core/store/metric_names.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::reports {
namespace {

using nlohmann::json;

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// A run's place in a table; a run in several experiments (a shared teacher) has one per experiment, chained.
struct Slot {
  std::size_t table = 0, position = 0;
  std::size_t next = kNone;
  // Filled by the runs pass; `present` stays false for a run filtered out by --where.
  bool present = false;
  const std::string* group = nullptr;   // key into the parsed configs
  const std::string* commit = nullptr;  // interned "abc123456789+dirty"
  std::optional<std::int64_t> seed;
  store::RunStatus status = store::RunStatus::Pending;
  // Filled when the tables are built.
  std::size_t run = 0, digest = 0;
};

// The final value of every metric of every run, and every point of the curve metrics, from one pass over the
// metrics table (ordered by run, name and step: a name's last row is its final value). Keys are kept once and
// names interned, so the result is small.
struct Finals {
  struct Value {
    std::uint32_t name;
    double value;
  };
  struct Point {
    std::uint32_t name;
    std::int64_t step;
    double value;
  };
  std::vector<std::string> keys;                      // in scan order
  std::vector<std::size_t> value_begin, point_begin;  // per key, into values / points; one more at the end
  std::vector<Value> values;
  std::vector<Point> points;
  std::vector<std::string> names;
};

Finals read_finals(store::Store& store, const std::vector<std::string>& curves) {
  Finals f;
  std::unordered_map<std::string, std::uint32_t> ids;
  std::vector<bool> is_curve;
  constexpr std::uint32_t kNoName = static_cast<std::uint32_t>(-1);
  std::uint32_t current = kNoName, next = 0;
  store.scan_metrics([&](std::string_view key, std::string_view metric, std::int64_t step, double value) {
    if (f.keys.empty() || key != f.keys.back()) {
      f.keys.emplace_back(key);
      f.value_begin.push_back(f.values.size());
      f.point_begin.push_back(f.points.size());
      current = kNoName;
    }
    if (current != kNoName && f.names[current] == metric) {
      f.values.back().value = value;  // a later step of the same metric
    } else {
      // Runs tend to have the same metrics: try the one after the last before hashing.
      if (next < f.names.size() && f.names[next] == metric) {
        current = next;
      } else {
        auto [it, added] = ids.try_emplace(std::string(metric), static_cast<std::uint32_t>(f.names.size()));
        if (added) {
          f.names.emplace_back(metric);
          is_curve.push_back(std::find(curves.begin(), curves.end(), metric) != curves.end());
        }
        current = it->second;
      }
      next = current + 1;
      f.values.push_back({current, value});
    }
    if (is_curve[current]) f.points.push_back({current, step, value});
  });
  f.value_begin.push_back(f.values.size());
  f.point_begin.push_back(f.points.size());
  return f;
}

// The passes of collect() and what they share: each run's places in the tables (slots), then the configs and
// outcomes of the runs, then the tables, then the metrics (read on a second thread meanwhile).
class Collector {
 public:
  Collector(store::Store& store, const CollectOptions& options) : store_(store), options_(options) {}

  Report run() {
    const std::vector<std::string> experiments = chosen_experiments();
    std::vector<std::string> curves;
    if (options_.curves) curves = {metric::kTrainLoss, metric::kTrainAcc, metric::kValAcc};
    // The metrics pass, the largest, reads on a second thread over its own connection while the other passes
    // run here. Its errors (a damaged store) reach get() as they were thrown, r2q's own kinds.
    auto finals = std::async(std::launch::async, [path = store_.path(), &curves] {
      store::Store reader(path, store::Store::Mode::ReadOnly);
      return read_finals(reader, curves);
    });
    place_runs(experiments);
    read_runs();
    build_tables(experiments);
    add_metrics(finals.get());
    return report(experiments);
  }

 private:
  std::vector<std::string> chosen_experiments() const {
    const auto known = store_.experiments();
    std::vector<std::string> experiments = options_.experiments.empty() ? known : options_.experiments;
    for (const auto& name : experiments)
      if (std::find(known.begin(), known.end(), name) == known.end())
        throw InputError("--experiment: no experiment " + quoted_value(name) + " in " +
                         store_.path().string() +
                         (known.empty() ? "" : " (it has: " + join(known, ", ") + ")"));
    return experiments;
  }

  // Pass 1: which runs each experiment has, in order.
  void place_runs(const std::vector<std::string>& experiments) {
    auto members = store_.experiment_members();
    table_slots_.resize(experiments.size());
    for (std::size_t t = 0; t < experiments.size(); ++t) {
      auto found = members.find(experiments[t]);
      if (found == members.end()) continue;
      for (std::size_t p = 0; p < found->second.size(); ++p) {
        Slot slot;
        slot.table = t;
        slot.position = p;
        auto [it, added] = first_slot_.try_emplace(std::move(found->second[p]), slots_.size());
        if (!added) {
          std::size_t last = it->second;
          while (slots_[last].next != kNone) last = slots_[last].next;
          slots_[last].next = slots_.size();
        }
        table_slots_[t].push_back(slots_.size());
        slots_.push_back(slot);
      }
    }
  }

  // Pass 2: each run's config (parsed once per group of runs that differ only in their seed) and outcome.
  void read_runs() {
    std::string last_commit, machine, key;
    bool last_dirty = false;
    const std::string* commit = nullptr;
    store_.scan_runs([&](const store::Store::RunRow& row) {
      key.assign(row.key);
      auto head = first_slot_.find(key);
      if (head == first_slot_.end()) return;
      std::optional<std::int64_t> seed;
      auto [config, added] = configs_.try_emplace(seedless_config_text(row.config, seed));
      if (added) config->second = parse_config(key, row.config);
      if (!seed) throw damaged(key, "config has no integer seed");
      if (!store::valid_status(row.status))
        throw damaged(
            key, "status " + quoted_value(row.status) + " is not one of pending, running, finished, failed");
      const store::RunStatus status = store::parse_status(std::string(row.status));
      if (!options_.where.empty()) {
        json full = config->second;
        full["seed"] = *seed;
        if (!matches(full, options_.where)) return;
      }
      // Versions and CPU are a property of the host and the code: one stored environment per (host, code
      // version) of the finished runs is read afterwards, not every run's.
      if (status == store::RunStatus::Finished) {
        machine.assign(row.host);
        machine += '\n';
        machine.append(row.git_commit);
        machine += row.git_dirty ? "\n+" : "\n";
        environment_of_.try_emplace(machine, key);
      }
      // Runs come in long stretches of one code version: the last one's interned label is reused.
      if (!commit || row.git_commit != last_commit || row.git_dirty != last_dirty) {
        last_commit.assign(row.git_commit);
        last_dirty = row.git_dirty;
        commit = &*commits_
                       .insert((last_commit.empty() ? std::string("unknown") : last_commit).substr(0, 12) +
                               (last_dirty ? "+dirty" : ""))
                       .first;
      }
      for (std::size_t s = head->second; s != kNone; s = slots_[s].next) {
        Slot& slot = slots_[s];
        slot.present = true;
        slot.group = &config->first;
        slot.commit = commit;
        slot.seed = seed;
        slot.status = status;
      }
    });
  }

  // A run's stored config, checked as the store's readers check it, without its seed.
  json parse_config(const std::string& key, std::string_view text) const {
    if (json_depth(text) > kMaxJsonDepth)
      throw damaged(key, "config is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    json config;
    try {
      config = json::parse(text);
    } catch (const json::exception& e) {
      throw damaged(key, std::string("config is not valid JSON (") + e.what() + ")");
    }
    if (const std::string problem = store::config_problem(config); !problem.empty())
      throw damaged(key, "config " + problem);
    config.erase("seed");
    return config;
  }

  InputError damaged(const std::string& key, const std::string& what) const {
    return InputError(store_.path().string() + ": run " + key + ": the stored " + what +
                      "; the store is damaged");
  }

  // The tables' groups, in each experiment's run order; the footer's per-run digests.
  void build_tables(const std::vector<std::string>& experiments) {
    builders_.reserve(experiments.size());
    for (std::size_t t = 0; t < experiments.size(); ++t) {
      builders_.emplace_back(experiments[t]);
      for (std::size_t s : table_slots_[t]) {
        Slot& slot = slots_[s];
        if (!slot.present) continue;
        const std::string& group = *slot.group;
        slot.run = builders_[t].add_run(
            group, [&] { return configs_.at(group); }, slot.seed, slot.status, *slot.commit);
        slot.digest = footer_.digests.size();
        footer_.digests.emplace_back(std::string(), std::string());
        if (slot.status == store::RunStatus::Finished) {
          if (slot.seed) footer_.seeds.insert(*slot.seed);
          footer_.commits.insert(*slot.commit);
        }
      }
    }
    for (const auto& [run_key, head] : first_slot_)
      for (std::size_t s = head; s != kNone; s = slots_[s].next)
        if (slots_[s].present) {
          auto& [digest_key, digest] = footer_.digests[slots_[s].digest];
          digest_key = run_key;
          digest = run_digest(run_key, slots_[s].status);
          digest.reserve(256);  // room for its metrics
        }
  }

  // Pass 3's results: each finished run's final values (and curve points) into its tables and its digest.
  void add_metrics(const Finals& finals) {
    for (std::size_t k = 0; k < finals.keys.size(); ++k) {
      auto it = first_slot_.find(finals.keys[k]);
      if (it == first_slot_.end()) continue;
      for (std::size_t s = it->second; s != kNone; s = slots_[s].next) {
        const Slot& slot = slots_[s];
        if (!slot.present || slot.status != store::RunStatus::Finished) continue;
        for (std::size_t v = finals.value_begin[k]; v < finals.value_begin[k + 1]; ++v) {
          const std::string& name = finals.names[finals.values[v].name];
          builders_[slot.table].add_metric(slot.run, name, finals.values[v].value);
          add_to_digest(footer_.digests[slot.digest].second, name, finals.values[v].value);
        }
        for (std::size_t p = finals.point_begin[k]; p < finals.point_begin[k + 1]; ++p) {
          const auto& point = finals.points[p];
          builders_[slot.table].add_curve_point(slot.run, finals.names[point.name], point.step, point.value);
        }
      }
    }
  }

  Report report(const std::vector<std::string>& experiments) {
    Report report;
    report.bootstrap = options_.report.bootstrap;
    for (std::size_t t = 0; t < experiments.size(); ++t) {
      Table table = builders_[t].finish();
      if (table.groups.empty()) continue;
      report.tables.push_back(make_table(std::move(table), options_.report));
    }
    std::vector<json> environments;
    for (const auto& [machine_key, run_key] : environment_of_)
      if (auto run = store_.run(run_key)) environments.push_back(std::move(run->environment));
    report.footer = make_footer(store_.path().string(), std::move(footer_), environments);
    return report;
  }

  store::Store& store_;
  const CollectOptions& options_;
  std::vector<Slot> slots_;
  std::unordered_map<std::string, std::size_t> first_slot_;  // run key -> its first slot
  std::vector<std::vector<std::size_t>> table_slots_;
  std::unordered_map<std::string, json> configs_;  // seedless config text -> parsed, seed removed
  std::unordered_set<std::string> commits_;
  std::map<std::string, std::string> environment_of_;  // host + code version -> a finished run's key
  std::vector<TableBuilder> builders_;
  FooterRuns footer_;
};

}  // namespace

Report collect(store::Store& store, const CollectOptions& options) {
  return Collector(store, options).run();
}

}  // namespace r2q::reports
