// Aggregation of runs into comparison rows: runs that differ only in their seed form one group; each metric
// is summarised as mean, sample standard deviation and count over the group's finished runs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/store/store.h"

namespace r2q::reports {

struct RunResult {
  std::string key;
  nlohmann::json config;
  store::RunStatus status = store::RunStatus::Pending;
  std::map<std::string, double> metrics;  // final values
  std::string git_commit;
  bool git_dirty = false;
  // Per-epoch values (step, value) by metric name; empty unless loaded.
  std::map<std::string, std::vector<std::pair<std::int64_t, double>>> curves;
};

struct Stat {
  double mean = 0, std = 0;  // std is the sample standard deviation (n - 1); 0 when n == 1
  int n = 0;
};

Stat summarize(const std::vector<double>& values);

struct Group {
  std::map<std::string, nlohmann::json> values;  // varying path -> value
  nlohmann::json config;                         // the config without the seed
  std::vector<std::size_t> members;              // indices of its runs, in the order they were added
  std::vector<std::int64_t> seeds;               // of the finished runs
  int runs = 0, finished = 0, failed = 0;
  std::map<std::string, Stat> metrics;
  std::map<std::string, std::vector<double>> samples;  // the finished runs' values behind each Stat
  // Per-epoch sums over the finished runs: metric -> step -> (sum, count). Empty unless curves were loaded.
  std::map<std::string, std::map<std::int64_t, std::pair<double, int>>> curve_sums;
};

struct Table {
  std::string experiment;
  std::vector<std::string> varying;  // config paths that differ between groups (seed excluded)
  std::vector<Group> groups;         // in the order of the experiment's runs
  std::vector<std::string> metrics;  // every metric name seen, sorted
  std::vector<std::string> commits;  // distinct code versions of the finished runs ("abc1234+dirty")
};

// Builds one experiment's Table a run at a time, so that a report over a large store never holds every run:
// add the runs in the experiment's order, then their final metrics (and curve points), then finish().
class TableBuilder {
 public:
  explicit TableBuilder(std::string experiment);

  // `group_key` identifies the run's config without its seed (runs with equal keys form one group);
  // `seedless_config` returns that config and is called once per new group. Returns the run's index.
  std::size_t add_run(const std::string& group_key, const std::function<nlohmann::json()>& seedless_config,
                      std::optional<std::int64_t> seed, store::RunStatus status, const std::string& commit);
  // The final value of a metric of a run; ignored unless the run finished.
  void add_metric(std::size_t run, const std::string& name, double value);
  // One epoch's value of a curve metric; ignored unless the run finished.
  void add_curve_point(std::size_t run, const std::string& name, std::int64_t step, double value);
  // Varying axes, row labels and the statistics of every group.
  Table finish();

 private:
  Table table_;
  std::unordered_map<std::string, std::size_t> group_of_;
  std::vector<std::size_t> group_index_;  // per run
  std::vector<bool> finished_;            // per run
  // Samples by metric id while runs are added (a map per group by name only in finish()).
  std::unordered_map<std::string, std::size_t> metric_id_;
  std::vector<std::string> metric_names_;                  // by id
  std::size_t next_metric_ = 0;                            // the id after the last one added
  std::vector<std::vector<std::vector<double>>> samples_;  // [group][metric id]
  std::set<std::string> commits_;
};

// The Table of hand-made or already loaded runs (tests, small reports).
Table aggregate(const std::string& experiment, const std::vector<RunResult>& runs);

// The store's form of a config ("{...}" with sorted keys, as nlohmann::json::dump writes it) without its
// top-level "seed" member — a run's group key — and that seed. Found by scanning the text, so that a report
// parses one config per group rather than one per run.
std::string seedless_config_text(std::string_view config, std::optional<std::int64_t>& seed);

// FGSM epsilons present in a table's metrics, ascending.
std::vector<double> fgsm_eps(const Table& table);

// The robustness metrics of a table as report columns: FGSM (eps > 0), then PGD, then transfer FGSM, each by
// ascending eps. `header` is e.g. "FGSM 0.03", "PGD-10 0.03", "transfer 0.03".
struct AttackColumn {
  std::string header, metric;
};
std::vector<AttackColumn> attack_columns(const Table& table);

}  // namespace r2q::reports
