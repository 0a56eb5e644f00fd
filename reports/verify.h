// verify: compare a store's results with golden ones (another store, or a `report --format json` file),
// metric by metric with absolute tolerances, and list every drift and every missing result.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reports/report.h"

namespace r2q::reports {

// One configuration's results (mean over its seeds), keyed for matching by experiment and config.
struct ResultRow {
  std::string experiment;
  nlohmann::json config;  // without the seed
  std::string label;      // the varying axes, for messages
  int finished = 0;
  std::map<std::string, double> metrics;  // mean, stored units
  std::map<std::string, std::string> units;
  std::map<std::string, Stat> stats;  // mean, sample standard deviation and seeds, stored units
};

// The rows of a report (every metric column of every table).
std::vector<ResultRow> result_rows(const Report& report);

// Golden results from a file: an r2q store (SQLite) or a report JSON ("schema": "r2q-report/1"). InputError
// naming the file when it is neither.
std::vector<ResultRow> load_golden(const std::filesystem::path& path);

// The rows and where they came from (the footer: versions, CPUs, math; of a report JSON as far as it has
// them).
struct GoldenFile {
  std::vector<ResultRow> rows;
  Footer footer;
};
GoldenFile load_golden_file(const std::filesystem::path& path);

// What differs between the golden results' origin and the current runs' that makes bit-identical results
// not expected (math mode and kernels, library versions): one plain sentence per difference, with what to
// do; empty when nothing does.
std::vector<std::string> origin_differences(const Footer& golden, const Footer& current);

struct Tolerances {
  double accuracy_points = 0.5;              // for every accuracy metric (unit %), in points
  std::map<std::string, double> per_metric;  // metric -> tolerance in the metric's shown unit
  // Metrics without a tolerance (timings) are not compared unless named in per_metric.
  std::optional<double> for_metric(const std::string& metric, const std::string& unit) const;
};

struct Drift {
  std::string experiment, label, metric;
  std::optional<double> golden, current;  // shown units
  double tolerance = 0;
  std::string problem;  // "drift", "missing metric", "missing configuration", "missing runs (1 of 2)"
};

struct VerifyResult {
  int compared = 0;  // values compared
  int rows = 0;      // golden configurations
  std::vector<Drift> drifts;
  bool ok() const { return drifts.empty(); }
};

VerifyResult verify(const std::vector<ResultRow>& golden, const std::vector<ResultRow>& current,
                    const Tolerances& tolerances);

// The statistical comparison (verify --mode stats), for results whose bits cannot match (another CPU level
// in native math, a GPU, other library versions): per configuration and compared metric (the same ones as
// above), a shift when |mean_current - mean_golden| > k sqrt(se_golden^2 + se_current^2), se = std /
// sqrt(n) over seeds. Both sides need at least `min_seeds` seeds, else the value is reported as "too few
// seeds" (exit 2 in the CLI). A Drift's problem says which way the current mean moved.
struct StatsOptions {
  double k = 3;
  int min_seeds = 3;
};
VerifyResult verify_stats(const std::vector<ResultRow>& golden, const std::vector<ResultRow>& current,
                          const Tolerances& tolerances, const StatsOptions& options);

// A markdown table of the drifts.
std::string drift_table(const VerifyResult& result);

}  // namespace r2q::reports
