// The format-neutral report: what every writer (markdown, csv, json, latex, html) renders. Built from the
// aggregated tables (reports/aggregate.h): the metric columns to show, each cell's mean ± std over seeds, its
// difference to the FP32 row of the same model and dataset, the best value of each column, an optional
// bootstrap interval, and a footer that says where the numbers come from.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reports/aggregate.h"

namespace r2q::reports {

struct Column {
  std::string header;  // "clean acc", "FGSM 0.03", "PGD-10 0.03", "transfer 0.03", "train time"
  std::string metric;  // the store's metric name
  std::string unit;    // "%" (stored as a fraction, shown x100), "s", "us"
  bool higher_is_better = true;
  bool is_accuracy() const { return unit == "%"; }
  double scale() const { return is_accuracy() ? 100.0 : 1.0; }  // stored value -> shown value
};

struct Cell {
  Stat stat;                              // in stored units (fractions for accuracies)
  std::optional<double> delta;            // mean minus the reference row's mean, stored units
  std::optional<double> ci_low, ci_high;  // 95% percentile-bootstrap interval of the mean
  bool best = false;
};

struct Row {
  std::map<std::string, nlohmann::json> axes;  // varying path -> value
  nlohmann::json config;                       // the group's full config without the seed
  std::vector<std::int64_t> seeds;
  int runs = 0, finished = 0, failed = 0;
  bool reference = false;                    // an FP32 row the others are compared with
  std::optional<std::size_t> reference_row;  // the row this one's deltas are against
  std::vector<Cell> cells;                   // one per column
};

// Per-epoch means over a row's seeds (training curves), when requested.
struct Curve {
  std::string metric;  // "train/loss", "train/acc", "val/acc"
  std::vector<std::int64_t> epochs;
  std::vector<double> mean;
};

struct ReportTable {
  std::string experiment;
  std::vector<std::string> axes;  // varying config paths (seed excluded), the row labels
  std::vector<Column> columns;
  std::vector<Row> rows;
  std::vector<std::vector<Curve>> curves;  // per row; empty unless curves were requested
  int runs = 0, finished = 0, failed = 0;
};

struct Footer {
  std::string store_path;
  std::string store_hash;                       // sha256 of the reported runs' keys, status and final metrics
  std::vector<std::int64_t> seeds;              // every seed of the finished runs
  std::vector<std::string> commits;             // "abc123456789" or "abc123456789+dirty"
  std::map<std::string, std::string> versions;  // r2q, libtorch, onednn, sqlite, compiler (of the runs)
  std::vector<std::string> cpus;                // CPU models the runs ran on
  // How the runs did their math (core/util/math_mode.h), one item per distinct setting: "portable, CPU
  // avx512, LibTorch avx2, oneDNN avx2"; "unrecorded" for runs stored before r2q recorded it.
  std::vector<std::string> math;
  std::string generated_by;  // r2q version that wrote the report

  // As text items: "0", "1", ...; "libtorch 1.13.0", ...
  std::vector<std::string> seed_items() const;
  std::vector<std::string> version_items() const;
};

struct Report {
  std::vector<ReportTable> tables;
  Footer footer;
  bool bootstrap = false;
};

struct ReportOptions {
  // Metric selection: empty = clean accuracy, every attack column, train time, deploy latency where present.
  // Otherwise metric names or headers, '*' matching any run of characters ("test/fgsm/*").
  std::vector<std::string> metrics;
  bool bootstrap = false;  // 95% percentile bootstrap interval of each mean (fixed RNG seed: reproducible)
  int bootstrap_resamples = 2000;
};

// A `--where path=value` filter: the run's config at the dotted path equals the value (JSON when it parses,
// else a string).
struct Where {
  std::string path;
  nlohmann::json value;
};
Where parse_where(const std::string& text);  // InputError naming the text when malformed
bool matches(const nlohmann::json& config, const std::vector<Where>& where);

// The default columns of a table: clean accuracy, attacks (FGSM, PGD, transfer by eps), train time, deploy
// latency metrics (deploy/<backend>/latency_us).
std::vector<Column> default_columns(const Table& table);
// Columns chosen by `patterns` among every metric of the table; InputError naming a pattern that matches
// none.
std::vector<Column> select_columns(const Table& table, const std::vector<std::string>& patterns);

ReportTable make_table(Table table, const ReportOptions& options);

// What the footer needs of the reported runs, gathered one run at a time.
struct FooterRuns {
  std::set<std::int64_t> seeds;   // of the finished runs
  std::set<std::string> commits;  // of the finished runs, "abc123456789" or "abc123456789+dirty"
  std::vector<std::pair<std::string, std::string>> digests;  // (run key, run_digest) of every run
};

// The footer over the reported runs; `environments` are their distinct stored environments.
Footer make_footer(const std::string& store_path, FooterRuns runs,
                   const std::vector<nlohmann::json>& environments);

// results_hash is a sha256 over the runs' keys, status and final metrics except timings (seconds, images/s,
// latency), in key order: equal for stores with equal results, however they were written, so a rerun that
// reproduces has the same hash. A run's part: run_digest, then add_to_digest for each final metric in name
// order.
std::string run_digest(const std::string& key, store::RunStatus status);
void add_to_digest(std::string& digest, const std::string& metric, double value);
std::string results_hash(std::vector<std::pair<std::string, std::string>> digests);
std::string results_hash(const std::vector<RunResult>& runs);

// "91.23 ± 0.45" for a cell in its column's unit; "–" when the cell has no value.
std::string format_value(const Column& column, const Stat& stat, int decimals = 2);
// "+1.23" / "−0.45" in the column's unit.
std::string format_delta(const Column& column, double delta, int decimals = 2);
// A config value as a label: strings bare, null as "–", others as JSON.
std::string format_axis(const nlohmann::json& value);

}  // namespace r2q::reports
