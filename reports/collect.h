// From a store to a Report: load every experiment's runs (one pass over each table), keep those that
// match the --where filters, aggregate over seeds, build the tables and the footer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "reports/report.h"

namespace r2q::reports {

struct CollectOptions {
  std::vector<std::string> experiments;  // empty: every experiment in the store
  std::vector<Where> where;
  ReportOptions report;
  bool curves = false;  // per-epoch train/loss, train/acc, val/acc means
};

// InputError naming an experiment the store does not have. Experiments left with no run after filtering
// are dropped.
Report collect(store::Store& store, const CollectOptions& options);

}  // namespace r2q::reports
