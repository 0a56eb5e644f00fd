// Golden comparison.
#include "reports/verify.h"

#include <cmath>
#include <cstdio>

#include "core/spec/run_key.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/text.h"
#include "reports/collect.h"

namespace r2q::reports {
namespace {

using nlohmann::json;

std::string label_of(const std::vector<std::string>& axes, const std::map<std::string, json>& values) {
  std::vector<std::string> parts;
  for (const auto& a : axes)
    if (auto it = values.find(a); it != values.end()) parts.push_back(a + "=" + format_axis(it->second));
  return parts.empty() ? "(all runs)" : join(parts, " ");
}

double scale_of(const std::string& unit) {
  return unit == "%" ? 100.0 : 1.0;
}

std::string shown(std::optional<double> v) {
  if (!v) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", *v);
  return buf;
}

std::string match_key(const std::string& experiment, const json& config) {
  return experiment + "\n" + spec::canonical_json(config);
}

}  // namespace

std::vector<ResultRow> result_rows(const Report& report) {
  std::vector<ResultRow> rows;
  for (const auto& t : report.tables)
    for (const auto& row : t.rows) {
      ResultRow r{t.experiment, row.config, label_of(t.axes, row.axes), row.finished, {}, {}};
      for (size_t c = 0; c < t.columns.size(); ++c) {
        r.units[t.columns[c].metric] = t.columns[c].unit;
        if (row.cells[c].stat.n > 0) r.metrics[t.columns[c].metric] = row.cells[c].stat.mean;
      }
      rows.push_back(std::move(r));
    }
  return rows;
}

std::vector<ResultRow> load_golden(const std::filesystem::path& path) {
  const std::string text = read_input_file(path, "golden results (an r2q store or report JSON)");
  if (text.starts_with("SQLite format 3")) {
    store::Store store(path, store::Store::Mode::ReadOnly);
    CollectOptions all;
    all.report.metrics = {"*"};
    return result_rows(collect(store, all));
  }
  if (const int depth = json_depth(text); depth > kMaxJsonDepth)
    throw InputError(path.string() + ": JSON nested " + std::to_string(depth) +
                     " levels deep; r2q accepts at most " + std::to_string(kMaxJsonDepth));
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(path.string() + ": neither an r2q store nor a report JSON file (" + e.what() + ")");
  }
  if (!doc.is_object() || doc.value("schema", "") != "r2q-report/1")
    throw InputError(
        path.string() + ": \"schema\" is " +
        (doc.is_object() && doc.contains("schema") ? doc["schema"].dump() : std::string("missing")) +
        ", expected \"r2q-report/1\" (write it with r2q report --format json)");
  std::vector<ResultRow> rows;
  try {
    for (const auto& t : doc.at("tables")) {
      std::map<std::string, std::string> units;
      for (const auto& c : t.at("columns")) units[c.at("metric")] = c.at("unit");
      std::vector<std::string> axes = t.at("axes");
      for (const auto& row : t.at("rows")) {
        std::map<std::string, json> values = row.at("axes");
        ResultRow r{
            t.at("experiment"), row.at("config"), label_of(axes, values), row.at("finished"), {}, units};
        for (const auto& [metric, m] : row.at("metrics").items()) r.metrics[metric] = m.at("mean");
        rows.push_back(std::move(r));
      }
    }
  } catch (const json::exception& e) {
    throw InputError(path.string() + ": malformed report JSON: " + e.what());
  }
  return rows;
}

std::optional<double> Tolerances::for_metric(const std::string& metric, const std::string& unit) const {
  if (auto it = per_metric.find(metric); it != per_metric.end()) return it->second;
  if (unit == "%") return accuracy_points;
  return std::nullopt;
}

VerifyResult verify(const std::vector<ResultRow>& golden, const std::vector<ResultRow>& current,
                    const Tolerances& tolerances) {
  std::map<std::string, const ResultRow*> index;
  for (const auto& row : current) index[match_key(row.experiment, row.config)] = &row;
  VerifyResult result;
  for (const auto& g : golden) {
    ++result.rows;
    auto it = index.find(match_key(g.experiment, g.config));
    if (it == index.end()) {
      result.drifts.push_back(
          {g.experiment, g.label, "", std::nullopt, std::nullopt, 0, "missing configuration"});
      continue;
    }
    const ResultRow& c = *it->second;
    if (c.finished < g.finished)
      result.drifts.push_back({g.experiment, g.label, "", std::nullopt, std::nullopt, 0,
                               "missing runs (" + std::to_string(c.finished) + " of " +
                                   std::to_string(g.finished) + " finished)"});
    for (const auto& [metric, golden_value] : g.metrics) {
      const std::string unit = g.units.count(metric) ? g.units.at(metric) : "";
      const auto tolerance = tolerances.for_metric(metric, unit);
      if (!tolerance) continue;
      const double scale = scale_of(unit);
      const std::optional<double> want = golden_value * scale;
      auto found = c.metrics.find(metric);
      if (found == c.metrics.end()) {
        result.drifts.push_back(
            {g.experiment, g.label, metric, want, std::nullopt, *tolerance, "missing metric"});
        continue;
      }
      ++result.compared;
      const double got = found->second * scale;
      if (!(std::abs(got - *want) <= *tolerance))
        result.drifts.push_back({g.experiment, g.label, metric, want, got, *tolerance, "drift"});
    }
  }
  return result;
}

std::string drift_table(const VerifyResult& result) {
  std::string out =
      "| experiment | configuration | metric | golden | current | |Δ| | tolerance | problem |\n"
      "|---|---|---|---:|---:|---:|---:|---|\n";
  for (const auto& d : result.drifts) {
    std::optional<double> delta;
    if (d.golden && d.current) delta = std::abs(*d.current - *d.golden);
    out += "| " + d.experiment + " | " + d.label + " | " + (d.metric.empty() ? "–" : d.metric) + " | " +
           shown(d.golden) + " | " + shown(d.current) + " | " + shown(delta) + " | " +
           (d.metric.empty() ? "–" : shown(d.tolerance)) + " | " + d.problem + " |\n";
  }
  return out;
}

}  // namespace r2q::reports
