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
      ResultRow r{t.experiment, row.config, label_of(t.axes, row.axes), row.finished, {}, {}, {}};
      for (size_t c = 0; c < t.columns.size(); ++c) {
        r.units[t.columns[c].metric] = t.columns[c].unit;
        if (row.cells[c].stat.n > 0) {
          r.metrics[t.columns[c].metric] = row.cells[c].stat.mean;
          r.stats[t.columns[c].metric] = row.cells[c].stat;
        }
      }
      rows.push_back(std::move(r));
    }
  return rows;
}

std::vector<ResultRow> load_golden(const std::filesystem::path& path) {
  return load_golden_file(path).rows;
}

GoldenFile load_golden_file(const std::filesystem::path& path) {
  const std::string text = read_input_file(path, "golden results (an r2q store or report JSON)");
  if (text.starts_with("SQLite format 3")) {
    store::Store store(path, store::Store::Mode::ReadOnly);
    CollectOptions all;
    all.report.metrics = {"*"};
    Report report = collect(store, all);
    return {result_rows(report), report.footer};
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
  GoldenFile golden;
  std::vector<ResultRow>& rows = golden.rows;
  try {
    if (doc.contains("footer") && doc["footer"].is_object()) {
      const json& f = doc["footer"];
      golden.footer.cpus = f.value("cpus", std::vector<std::string>{});
      golden.footer.math = f.value("math", std::vector<std::string>{});
      golden.footer.versions = f.value("versions", std::map<std::string, std::string>{});
      golden.footer.store_hash = f.value("results_sha256", std::string());
    }
    for (const auto& t : doc.at("tables")) {
      std::map<std::string, std::string> units;
      for (const auto& c : t.at("columns")) units[c.at("metric")] = c.at("unit");
      std::vector<std::string> axes = t.at("axes");
      for (const auto& row : t.at("rows")) {
        std::map<std::string, json> values = row.at("axes");
        ResultRow r{
            t.at("experiment"), row.at("config"), label_of(axes, values), row.at("finished"), {}, units, {}};
        for (const auto& [metric, m] : row.at("metrics").items()) {
          r.metrics[metric] = m.at("mean");
          r.stats[metric] = {m.at("mean").get<double>(), m.value("std", 0.0), m.value("n", 1)};
        }
        rows.push_back(std::move(r));
      }
    }
  } catch (const json::exception& e) {
    throw InputError(path.string() + ": malformed report JSON: " + e.what());
  }
  return golden;
}

std::vector<std::string> origin_differences(const Footer& golden, const Footer& current) {
  std::vector<std::string> out;
  const std::string advice =
      ": bits are not expected to match; use r2q --math portable for both, or verify "
      "--mode stats (docs/REPORTS.md)";
  auto listed = [](const std::vector<std::string>& items) {
    return items.empty() ? std::string("unrecorded") : join(items, "; ");
  };
  const auto unrecorded = [](const std::vector<std::string>& math) {
    return math.empty() || math == std::vector<std::string>{"unrecorded"};
  };
  if (unrecorded(golden.math)) {
    if (!unrecorded(current.math))
      out.push_back(
          "the golden results do not record their math mode (made before r2q recorded it); this "
          "store: " +
          listed(current.math) + ". If they differ, bits are not expected to match");
  } else if (golden.math != current.math) {
    out.push_back("golden made with " + listed(golden.math) + " math; this store: " + listed(current.math) +
                  advice);
  }
  for (const char* library : {"libtorch", "onednn", "compiler"}) {
    const auto g = golden.versions.find(library), c = current.versions.find(library);
    if (g != golden.versions.end() && c != current.versions.end() && g->second != c->second)
      out.push_back(std::string(library) + " " + g->second + " made the golden results, " + c->second +
                    " this store's" + advice);
  }
  return out;
}

std::optional<double> Tolerances::for_metric(const std::string& metric, const std::string& unit) const {
  if (auto it = per_metric.find(metric); it != per_metric.end()) return it->second;
  if (unit == "%") return accuracy_points;
  return std::nullopt;
}

namespace {

// Pairs each golden row with the current row of the same experiment and config (counted in result.rows) and
// calls compare(golden, current) on it; a golden row without one is a "missing configuration".
template <class Compare>
VerifyResult compare_rows(const std::vector<ResultRow>& golden, const std::vector<ResultRow>& current,
                          Compare compare) {
  std::map<std::string, const ResultRow*> index;
  for (const auto& row : current) index[match_key(row.experiment, row.config)] = &row;
  VerifyResult result;
  for (const auto& g : golden) {
    ++result.rows;
    auto it = index.find(match_key(g.experiment, g.config));
    if (it == index.end())
      result.drifts.push_back(
          {g.experiment, g.label, "", std::nullopt, std::nullopt, 0, "missing configuration"});
    else
      compare(g, *it->second, result);
  }
  return result;
}

}  // namespace

VerifyResult verify(const std::vector<ResultRow>& golden, const std::vector<ResultRow>& current,
                    const Tolerances& tolerances) {
  return compare_rows(golden, current, [&](const ResultRow& g, const ResultRow& c, VerifyResult& result) {
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
  });
}

VerifyResult verify_stats(const std::vector<ResultRow>& golden, const std::vector<ResultRow>& current,
                          const Tolerances& tolerances, const StatsOptions& options) {
  return compare_rows(golden, current, [&](const ResultRow& g, const ResultRow& c, VerifyResult& result) {
    for (const auto& [metric, gs] : g.stats) {
      const std::string unit = g.units.count(metric) ? g.units.at(metric) : "";
      if (!tolerances.for_metric(metric, unit)) continue;  // the metrics the plain mode compares
      const double scale = scale_of(unit);
      auto found = c.stats.find(metric);
      if (found == c.stats.end()) {
        result.drifts.push_back(
            {g.experiment, g.label, metric, gs.mean * scale, std::nullopt, 0, "missing metric"});
        continue;
      }
      const Stat& cs = found->second;
      if (gs.n < options.min_seeds || cs.n < options.min_seeds) {
        result.drifts.push_back({g.experiment, g.label, metric, gs.mean * scale, cs.mean * scale, 0,
                                 "too few seeds (golden " + std::to_string(gs.n) + ", current " +
                                     std::to_string(cs.n) + "; at least " +
                                     std::to_string(options.min_seeds) + " each)"});
        continue;
      }
      ++result.compared;
      const double se = std::sqrt(gs.std * gs.std / gs.n + cs.std * cs.std / cs.n) * scale;
      const double delta = (cs.mean - gs.mean) * scale;
      const double allowed = options.k * se;
      if (std::abs(delta) > allowed) {
        char z[32];
        std::snprintf(z, sizeof z, "%.1f", se > 0 ? std::abs(delta) / se : INFINITY);
        result.drifts.push_back({g.experiment, g.label, metric, gs.mean * scale, cs.mean * scale, allowed,
                                 std::string("shift: the current mean is ") +
                                     (delta > 0 ? "higher" : "lower") + " by " + z + " standard errors"});
      }
    }
  });
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
