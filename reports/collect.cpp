// Store -> Report, in three passes over the store (experiment links, runs; metrics on a second thread): each
// table is read once in storage order and no run is held as a whole, so a report over 100,000 runs stays fast
// and small.
#include "reports/collect.h"

#include <algorithm>
#include <future>
#include <unordered_map>
#include <unordered_set>

#include "core/train/metric_names.h"
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

}  // namespace

Report collect(store::Store& store, const CollectOptions& options) {
  const auto known = store.experiments();
  std::vector<std::string> experiments = options.experiments.empty() ? known : options.experiments;
  for (const auto& name : experiments)
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw InputError("--experiment: no experiment \"" + name + "\" in " + store.path().string() +
                       (known.empty() ? "" : " (it has: " + join(known, ", ") + ")"));
  std::vector<std::string> curves;
  if (options.curves) curves = {metric::kTrainLoss, metric::kTrainAcc, metric::kValAcc};

  // Pass 3, the largest, reads the metrics on a second thread over its own connection while passes 1 and 2
  // run here.
  auto finals_future = std::async(std::launch::async, [path = store.path(), &curves] {
    store::Store reader(path, store::Store::Mode::ReadOnly);
    return read_finals(reader, curves);
  });

  // Pass 1: which runs each experiment has, in order.
  auto members = store.experiment_members();
  std::vector<Slot> slots;
  std::unordered_map<std::string, std::size_t> first_slot;  // run key -> its first slot
  std::vector<std::vector<std::size_t>> table_slots(experiments.size());
  for (std::size_t t = 0; t < experiments.size(); ++t) {
    auto found = members.find(experiments[t]);
    if (found == members.end()) continue;
    for (std::size_t p = 0; p < found->second.size(); ++p) {
      Slot slot;
      slot.table = t;
      slot.position = p;
      auto [it, added] = first_slot.try_emplace(std::move(found->second[p]), slots.size());
      if (!added) {
        std::size_t last = it->second;
        while (slots[last].next != kNone) last = slots[last].next;
        slots[last].next = slots.size();
      }
      table_slots[t].push_back(slots.size());
      slots.push_back(slot);
    }
  }
  members.clear();

  // Pass 2: each run's config (parsed once per group of runs that differ only in their seed) and outcome.
  std::unordered_map<std::string, json> configs;  // seedless config text -> parsed, seed removed
  std::unordered_set<std::string> commits;
  const std::string* commit = nullptr;
  std::string last_commit;
  bool last_dirty = false;
  std::map<std::string, std::string> environment_of;  // host + code version -> a finished run's key
  std::string machine;
  std::string key;
  store.scan_runs([&](const store::Store::RunRow& row) {
    key.assign(row.key);
    auto head = first_slot.find(key);
    if (head == first_slot.end()) return;
    std::optional<std::int64_t> seed;
    auto [config, added] = configs.try_emplace(seedless_config_text(row.config, seed));
    const auto damaged = [&](const std::string& what) {
      return InputError(store.path().string() + ": run " + key + ": the stored " + what +
                        "; the store is damaged");
    };
    if (added) {
      if (json_depth(row.config) > kMaxJsonDepth)
        throw damaged("config is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      try {
        config->second = json::parse(row.config);
      } catch (const json::exception& e) {
        throw damaged(std::string("config is not valid JSON (") + e.what() + ")");
      }
      if (const std::string problem = store::config_problem(config->second); !problem.empty())
        throw damaged("config " + problem);
      config->second.erase("seed");
    }
    if (!seed) throw damaged("config has no integer seed");
    if (!store::valid_status(row.status))
      throw damaged("status \"" + std::string(row.status) +
                    "\" is not one of pending, running, finished, failed");
    const store::RunStatus status = store::parse_status(std::string(row.status));
    if (!options.where.empty()) {
      json full = config->second;
      if (seed) full["seed"] = *seed;
      if (!matches(full, options.where)) return;
    }
    // Versions and CPU are a property of the host and the code: one stored environment per (host, code
    // version) of the finished runs is read afterwards, not every run's.
    if (status == store::RunStatus::Finished) {
      machine.assign(row.host);
      machine += '\n';
      machine.append(row.git_commit);
      machine += row.git_dirty ? "\n+" : "\n";
      environment_of.try_emplace(machine, key);
    }
    // Runs come in long stretches of one code version: the last one's interned label is reused.
    if (!commit || row.git_commit != last_commit || row.git_dirty != last_dirty) {
      last_commit.assign(row.git_commit);
      last_dirty = row.git_dirty;
      commit = &*commits
                     .insert((last_commit.empty() ? std::string("unknown") : last_commit).substr(0, 12) +
                             (last_dirty ? "+dirty" : ""))
                     .first;
    }
    for (std::size_t s = head->second; s != kNone; s = slots[s].next) {
      Slot& slot = slots[s];
      slot.present = true;
      slot.group = &config->first;
      slot.commit = commit;
      slot.seed = seed;
      slot.status = status;
    }
  });

  // The tables' groups, in each experiment's run order; the footer's per-run digests.
  std::vector<TableBuilder> builders;
  builders.reserve(experiments.size());
  FooterRuns footer;
  for (std::size_t t = 0; t < experiments.size(); ++t) {
    builders.emplace_back(experiments[t]);
    for (std::size_t s : table_slots[t]) {
      Slot& slot = slots[s];
      if (!slot.present) continue;
      const std::string& group = *slot.group;
      slot.run = builders[t].add_run(
          group, [&] { return configs.at(group); }, slot.seed, slot.status, *slot.commit);
      slot.digest = footer.digests.size();
      footer.digests.emplace_back(std::string(), std::string());
      if (slot.status == store::RunStatus::Finished) {
        if (slot.seed) footer.seeds.insert(*slot.seed);
        footer.commits.insert(*slot.commit);
      }
    }
  }
  for (const auto& [run_key, head] : first_slot)
    for (std::size_t s = head; s != kNone; s = slots[s].next)
      if (slots[s].present) {
        auto& [digest_key, digest] = footer.digests[slots[s].digest];
        digest_key = run_key;
        digest = run_digest(run_key, slots[s].status);
        digest.reserve(256);  // room for its metrics
      }

  // Pass 3's results: each run's final values (and curve points) into its tables and its digest.
  const Finals finals = finals_future.get();
  for (std::size_t k = 0; k < finals.keys.size(); ++k) {
    auto it = first_slot.find(finals.keys[k]);
    if (it == first_slot.end()) continue;
    for (std::size_t s = it->second; s != kNone; s = slots[s].next) {
      const Slot& slot = slots[s];
      if (!slot.present || slot.status != store::RunStatus::Finished) continue;
      for (std::size_t v = finals.value_begin[k]; v < finals.value_begin[k + 1]; ++v) {
        const std::string& name = finals.names[finals.values[v].name];
        builders[slot.table].add_metric(slot.run, name, finals.values[v].value);
        add_to_digest(footer.digests[slot.digest].second, name, finals.values[v].value);
      }
      for (std::size_t p = finals.point_begin[k]; p < finals.point_begin[k + 1]; ++p) {
        const auto& point = finals.points[p];
        builders[slot.table].add_curve_point(slot.run, finals.names[point.name], point.step, point.value);
      }
    }
  }

  Report report;
  report.bootstrap = options.report.bootstrap;
  for (std::size_t t = 0; t < experiments.size(); ++t) {
    Table table = builders[t].finish();
    if (table.groups.empty()) continue;
    report.tables.push_back(make_table(std::move(table), options.report));
  }
  std::vector<json> environments;
  for (const auto& [machine_key, run_key] : environment_of)
    if (auto run = store.run(run_key)) environments.push_back(std::move(run->environment));
  report.footer = make_footer(store.path().string(), std::move(footer), environments);
  return report;
}

}  // namespace r2q::reports
