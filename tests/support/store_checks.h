// Checks of a store file from tests: SQLite's own integrity and foreign-key checks, and a snapshot of the
// finished runs to compare before and after something that must not change them.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "core/store/sqlite.h"
#include "core/store/store.h"

namespace r2q::testing {

// The smallest run config a store accepts (store::config_problem): the fields every config r2q writes has.
inline nlohmann::json minimal_config(std::int64_t seed, int epochs = 2) {
  return {{"dataset", {{"name", "synthetic"}}},
          {"model", {{"name", "lenet"}}},
          {"quant", {{"method", "fp32"}, {"weight_bits", 2}, {"act_bits", 2}, {"first_last_bits", 8}}},
          {"train", {{"epochs", epochs}}},
          {"seed", seed}};
}

// The rows of a pragma that reports problems one per row, joined by newlines ("ok" or "" when none).
inline std::string pragma_rows(const std::filesystem::path& db, const std::string& pragma) {
  store::Database d(db, store::Database::Mode::ReadOnly);
  store::Statement& s = d.prepare("PRAGMA " + pragma);
  store::ResetGuard guard(s);
  std::string rows;
  while (s.step()) rows += (rows.empty() ? "" : "\n") + s.get_text(0);
  return rows;
}

inline std::string integrity_check(const std::filesystem::path& db) {
  return pragma_rows(db, "integrity_check");
}

// Metrics that depend on the clock, not on the computation.
inline bool timing_metric(const std::string& name) {
  return name.find("seconds") != std::string::npos || name.find("per_s") != std::string::npos ||
         name.find("latency") != std::string::npos;
}

// A finished run as a later sweep must leave it: same attempt, same finish time, same metric rows (values
// and the time each was written).
struct FinishedRun {
  int attempt = 0;
  double finished = 0;
  std::map<std::pair<std::string, std::int64_t>, std::pair<double, double>> metrics;  // -> (value, time)
  bool operator==(const FinishedRun&) const = default;
};

// A store killed while it was being created (schema version 0) has none.
inline std::map<std::string, FinishedRun> finished_runs(const std::filesystem::path& db) {
  std::map<std::string, FinishedRun> out;
  if (store::Database(db, store::Database::Mode::ReadOnly).pragma_int("user_version") == 0) return out;
  store::Store s(db, store::Store::Mode::ReadOnly);
  for (const auto& run : s.runs()) {
    if (run.status != store::RunStatus::Finished) continue;
    FinishedRun& f = out[run.key];
    f.attempt = run.attempt;
    f.finished = run.finished.value_or(0);
    for (const auto& m : s.metrics(run.key)) f.metrics[{m.name, m.step}] = {m.value, m.time};
  }
  return out;
}

// A run's metrics without the timing ones, keyed by (name, step): every epoch's curve points and the finals.
inline std::map<std::pair<std::string, std::int64_t>, double> computed_metrics(store::Store& s,
                                                                               const std::string& key) {
  std::map<std::pair<std::string, std::int64_t>, double> out;
  for (const auto& m : s.metrics(key))
    if (!timing_metric(m.name)) out[{m.name, m.step}] = m.value;
  return out;
}

}  // namespace r2q::testing
