// r2q verify --db F --against GOLDEN: every golden value must be matched within its tolerance.
#include <iostream>

#include "cli/common.h"
#include "core/store/store.h"
#include "core/util/error.h"
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
      "compared unless named here")("experiment,e", po::value<std::vector<std::string>>()->composing(),
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
        throw UsageError("--tolerance-for \"" + text + "\": expected METRIC=TOLERANCE, e.g. test/acc=1");
      tolerances.per_metric[text.substr(0, eq)] = value;
    }

  auto golden = reports::load_golden(vm["against"].as<std::string>());
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
  if (!collect.experiments.empty()) current = reports::result_rows(reports::collect(store, collect));

  const auto result = reports::verify(golden, current, tolerances);
  if (result.ok()) {
    std::cout << "verify: ok: " << result.compared << " values of " << result.rows
              << " configurations within tolerance of " << vm["against"].as<std::string>() << "\n";
    return kOk;
  }
  std::cout << "verify: " << result.drifts.size() << " problem(s) against " << vm["against"].as<std::string>()
            << " (" << result.compared << " values compared over " << result.rows << " configurations)\n\n"
            << reports::drift_table(result);
  return kFailed;
}

}  // namespace r2q::cli
