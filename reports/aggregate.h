// Aggregation of runs into comparison rows: runs that differ only in their seed form one group; each metric
// is summarised as mean, sample standard deviation and count over the group's finished runs.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
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
  std::vector<std::size_t> members;              // indices of its runs in the aggregated vector
  std::vector<std::int64_t> seeds;               // of the finished runs
  int runs = 0, finished = 0, failed = 0;
  std::map<std::string, Stat> metrics;
  std::map<std::string, std::vector<double>> samples;  // the finished runs' values behind each Stat
};

struct Table {
  std::string experiment;
  std::vector<std::string> varying;  // config paths that differ between groups (seed excluded)
  std::vector<Group> groups;         // in the order of the experiment's runs
  std::vector<std::string> metrics;  // every metric name seen, sorted
  std::vector<std::string> commits;  // distinct code versions of the finished runs ("abc1234+dirty")
};

Table aggregate(const std::string& experiment, const std::vector<RunResult>& runs);

struct LoadOptions {
  // Per-epoch values of these metrics (training curves).
  std::vector<std::string> curves;
};

// Loads the runs of one experiment with their final metrics.
std::vector<RunResult> load_results(store::Store& store, const std::string& experiment,
                                    const LoadOptions& options = {});

// FGSM epsilons present in a table's metrics, ascending.
std::vector<double> fgsm_eps(const Table& table);

// The robustness metrics of a table as report columns: FGSM (eps > 0), then PGD, then transfer FGSM, each by
// ascending eps. `header` is e.g. "FGSM 0.03", "PGD-10 0.03", "transfer 0.03".
struct AttackColumn {
  std::string header, metric;
};
std::vector<AttackColumn> attack_columns(const Table& table);

}  // namespace r2q::reports
