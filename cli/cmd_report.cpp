// r2q report: comparison tables from the store.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/common.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/text.h"
#include "reports/aggregate.h"
#include "reports/markdown.h"

namespace r2q::cli {

int cmd_report(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_db_option(options);
  options.add_options()("experiment,e", po::value<std::string>(), "only this experiment (default: all)")(
      "format,f", po::value<std::string>()->default_value("markdown"), "output format: markdown")(
      "output,o", po::value<std::string>()->value_name("FILE"), "write to FILE instead of standard output");
  po::variables_map vm;
  if (!parse("report", "[options]", args, options, {}, vm)) return kOk;
  const std::string format = vm["format"].as<std::string>();
  if (format != "markdown")
    throw UsageError("--format: \"" + format + "\" is not available (available: markdown)");

  store::Store store(db_path(vm), store::Store::Mode::ReadOnly);
  std::vector<std::string> experiments = store.experiments();
  if (vm.count("experiment")) {
    const std::string name = vm["experiment"].as<std::string>();
    if (std::find(experiments.begin(), experiments.end(), name) == experiments.end())
      throw InputError("--experiment: no experiment \"" + name + "\" in " + store.path().string() +
                       (experiments.empty() ? "" : " (it has: " + join(experiments, ", ") + ")"));
    experiments = {name};
  }
  std::ostringstream out;
  for (size_t i = 0; i < experiments.size(); ++i) {
    if (i) out << "\n";
    auto table = reports::aggregate(experiments[i], reports::load_results(store, experiments[i]));
    reports::write_markdown(out, table, {store.path().string()});
  }
  if (experiments.empty()) out << "no experiments in " << store.path().string() << "\n";
  if (vm.count("output"))
    write_file_atomically(vm["output"].as<std::string>(), out.str());
  else
    std::cout << out.str();
  return kOk;
}

}  // namespace r2q::cli
