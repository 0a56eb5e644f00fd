// r2q verify --db F --against GOLDEN: every golden value must be matched within its tolerance (--mode
// tolerance), or every golden mean over seeds by the current one within k standard errors (--mode stats).
#include <iostream>

#include "cli/common.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "core/util/text.h"
#include "reports/collect.h"
#include "reports/verify.h"

namespace r2q::cli {

int cmd_verify(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_db_option(options);
  options.add_options()("against", po::value<std::string>()->required()->value_name("GOLDEN"),
                        "golden results: an r2q store or a `report --format json` file")(
      "tolerance", po::value<double>()->default_value(0.5)->value_name("POINTS"),
      "absolute tolerance of every accuracy metric, in accuracy points")(
      "tolerance-for", po::value<std::vector<std::string>>()->composing()->value_name("METRIC=TOL"),
      "tolerance of one metric in its shown unit (repeatable); metrics without one, like timings, are not "
      "compared unless named here")(
      "mode", po::value<std::string>()->default_value("tolerance")->value_name("MODE"),
      "tolerance: each value within its tolerance (same machine level and math: docs/REPORTS.md); stats: "
      "means over seeds within k standard errors, for results whose bits cannot match")(
      "k", po::value<double>()->default_value(3.0), "--mode stats: standard errors a mean may move")(
      "min-seeds", po::value<int>()->default_value(3), "--mode stats: seeds needed on each side")(
      "experiment,e", po::value<std::vector<std::string>>()->composing(),
      "only this experiment of the golden results (repeatable)");
  po::variables_map vm;
  if (!parse("verify", "--db F --against GOLDEN [options]", args, options, {}, vm)) return kOk;

  reports::Tolerances tolerances;
  tolerances.accuracy_points = vm["tolerance"].as<double>();
  if (!(tolerances.accuracy_points >= 0)) throw UsageError("--tolerance: must be >= 0");
  if (vm.count("tolerance-for"))
    for (const auto& text : vm["tolerance-for"].as<std::vector<std::string>>()) {
      const auto eq = text.find('=');
      double value = -1;
      try {
        if (eq != std::string::npos) value = std::stod(text.substr(eq + 1));
      } catch (const std::exception&) {
      }
      if (eq == std::string::npos || eq == 0 || !(value >= 0))
        throw UsageError("--tolerance-for " + quoted_value(text) +
                         ": expected METRIC=TOLERANCE, e.g. test/acc=1");
      tolerances.per_metric[text.substr(0, eq)] = value;
    }

  const std::string mode = vm["mode"].as<std::string>();
  if (mode != "tolerance" && mode != "stats")
    throw UsageError("--mode: " + quoted_value(mode) + " is not a mode (known: tolerance, stats)");
  reports::StatsOptions stats;
  stats.k = vm["k"].as<double>();
  stats.min_seeds = vm["min-seeds"].as<int>();
  if (!(stats.k > 0)) throw UsageError("--k: must be > 0");
  if (stats.min_seeds < 2) throw UsageError("--min-seeds: must be >= 2 (a standard error needs two seeds)");

  auto golden_file = reports::load_golden_file(vm["against"].as<std::string>());
  auto& golden = golden_file.rows;
  if (vm.count("experiment")) {
    const auto wanted = vm["experiment"].as<std::vector<std::string>>();
    std::erase_if(golden, [&](const reports::ResultRow& r) {
      return std::find(wanted.begin(), wanted.end(), r.experiment) == wanted.end();
    });
    if (golden.empty())
      throw InputError("--experiment: no such experiment in " + vm["against"].as<std::string>());
  }
  store::Store store(db_path(vm), store::Store::Mode::ReadOnly);
  // Only the golden experiments this store has; a missing one shows up as missing configurations.
  reports::CollectOptions collect;
  collect.report.metrics = {"*"};
  const auto known = store.experiments();
  for (const auto& row : golden)
    if (std::find(known.begin(), known.end(), row.experiment) != known.end() &&
        std::find(collect.experiments.begin(), collect.experiments.end(), row.experiment) ==
            collect.experiments.end())
      collect.experiments.push_back(row.experiment);
  std::vector<reports::ResultRow> current;
  std::vector<std::string> notes;
  if (!collect.experiments.empty()) {
    const reports::Report report = reports::collect(store, collect);
    current = reports::result_rows(report);
    if (mode == "tolerance") notes = reports::origin_differences(golden_file.footer, report.footer);
  }
  for (const auto& note : notes) std::cout << "verify: note: " << note << "\n";
  if (!notes.empty()) std::cout << "\n";

  const auto result = mode == "stats" ? reports::verify_stats(golden, current, tolerances, stats)
                                      : reports::verify(golden, current, tolerances);
  if (mode == "stats")
    for (const auto& d : result.drifts)
      if (d.problem.starts_with("too few seeds"))
        throw InputError("--mode stats: " + d.experiment + " " + d.label + " " + d.metric + ": " + d.problem +
                         "; run more seeds (a \"seed\" grid axis) or use --mode tolerance");
  if (result.ok()) {
    std::cout << "verify: ok: " << result.compared << " values of " << result.rows << " configurations "
              << (mode == "stats" ? "within " + shortest_decimal(stats.k) + " standard errors of "
                                  : std::string("within tolerance of "))
              << vm["against"].as<std::string>() << "\n";
    return kOk;
  }
  std::cout << "verify: " << result.drifts.size() << " problem(s) against " << vm["against"].as<std::string>()
            << " (" << result.compared << " values compared over " << result.rows << " configurations)\n\n"
            << reports::drift_table(result);
  return kFailed;
}

}  // namespace r2q::cli
