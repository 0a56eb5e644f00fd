// Store -> Report.
#include "reports/collect.h"

#include <algorithm>

#include "core/train/metric_names.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::reports {

Report collect(store::Store& store, const CollectOptions& options) {
  const auto known = store.experiments();
  std::vector<std::string> experiments = options.experiments.empty() ? known : options.experiments;
  for (const auto& name : experiments)
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw InputError("--experiment: no experiment \"" + name + "\" in " + store.path().string() +
                       (known.empty() ? "" : " (it has: " + join(known, ", ") + ")"));
  LoadOptions load;
  if (options.curves) load.curves = {metric::kTrainLoss, metric::kTrainAcc, metric::kValAcc};

  Report report;
  report.bootstrap = options.report.bootstrap;
  std::vector<RunResult> all;
  std::vector<nlohmann::json> environments;
  for (const auto& name : experiments) {
    auto runs = load_results(store, name, load);
    if (!options.where.empty())
      std::erase_if(runs, [&](const RunResult& r) { return !matches(r.config, options.where); });
    if (runs.empty()) continue;
    report.tables.push_back(make_table(aggregate(name, runs), runs, options.report));
    for (auto& env : store.environments_of(name)) environments.push_back(std::move(env));
    all.insert(all.end(), std::make_move_iterator(runs.begin()), std::make_move_iterator(runs.end()));
  }
  report.footer = make_footer(store.path().string(), all, environments);
  return report;
}

}  // namespace r2q::reports
