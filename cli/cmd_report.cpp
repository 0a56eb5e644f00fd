// r2q report: comparison tables from the store, in markdown, csv, json, latex or html.
#include <iostream>

#include "cli/common.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "core/util/output_file.h"
#include "core/util/text.h"
#include "reports/collect.h"
#include "reports/writers.h"

namespace r2q::cli {

int cmd_report(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_db_option(options);
  options.add_options()("experiment,e", po::value<std::vector<std::string>>()->composing(),
                        "only this experiment (repeatable; default: all)")(
      "format,f", po::value<std::string>()->default_value("markdown"),
      ("output format: " + join(reports::report_formats(), ", ")).c_str())(
      "output,o", po::value<std::string>()->value_name("FILE"), "write to FILE instead of standard output")(
      "where,w", po::value<std::vector<std::string>>()->composing()->value_name("PATH=VALUE"),
      "only runs whose config has this value at PATH, e.g. quant.method=r2q (repeatable: all must hold)")(
      "metrics,m", po::value<std::string>()->value_name("LIST"),
      "comma-separated metric names or headers, '*' as wildcard (default: clean acc, attacks, train time, "
      "deploy latency)")("bootstrap", po::bool_switch(), "add the 95% bootstrap interval of each mean")(
      "curves", po::bool_switch(), "add per-epoch training curves (json, html)");
  po::variables_map vm;
  if (!parse("report", "[options]", args, options, {}, vm)) return kOk;
  const std::string format = vm["format"].as<std::string>();
  const auto& formats = reports::report_formats();
  if (std::find(formats.begin(), formats.end(), format) == formats.end())
    throw UsageError("--format: " + quoted_value(format) +
                     " is not available (available: " + join(formats, ", ") + ")");

  reports::CollectOptions collect;
  if (vm.count("experiment")) collect.experiments = vm["experiment"].as<std::vector<std::string>>();
  if (vm.count("where"))
    for (const auto& w : vm["where"].as<std::vector<std::string>>())
      collect.where.push_back(reports::parse_where(w));
  if (vm.count("metrics"))
    for (const auto& m : split(vm["metrics"].as<std::string>(), ','))
      if (!m.empty()) collect.report.metrics.push_back(m);
  collect.report.bootstrap = vm["bootstrap"].as<bool>();
  collect.curves = vm["curves"].as<bool>() || format == "html";

  const auto db = db_path(vm);
  const OutputFile output("-o", vm.count("output") ? vm["output"].as<std::string>() : "-", {db});
  store::Store store(db, store::Store::Mode::ReadOnly);
  const auto report = reports::collect(store, collect);
  auto write = [&](std::ostream& out) {
    if (report.tables.empty() && format == "markdown")
      out << "no runs in " << store.path().string() << (collect.where.empty() ? "" : " match --where")
          << "\n";
    else
      reports::write_report(out, report, format);
  };
  output.write(write);
  return kOk;
}

}  // namespace r2q::cli
