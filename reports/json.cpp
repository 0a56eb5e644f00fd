// JSON, schema "r2q-report/1" (docs/REPORTS.md): raw stored values, every table with its columns and rows,
// the footer. Fields are only ever added within a schema version; `verify` reads this format as a golden
// file.
#include "reports/writers.h"

namespace r2q::reports {

using nlohmann::json;

void write_json(std::ostream& out, const Report& report) {
  json tables = json::array();
  for (const auto& t : report.tables) {
    json columns = json::array();
    for (const auto& c : t.columns)
      columns.push_back({{"metric", c.metric},
                         {"header", c.header},
                         {"unit", c.unit},
                         {"higher_is_better", c.higher_is_better}});
    json rows = json::array();
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const Row& row = t.rows[r];
      json metrics = json::object();
      for (size_t c = 0; c < t.columns.size(); ++c) {
        const Cell& cell = row.cells[c];
        if (cell.stat.n == 0) continue;
        json m = {{"mean", cell.stat.mean}, {"std", cell.stat.std}, {"n", cell.stat.n}, {"best", cell.best}};
        if (cell.delta) m["delta"] = *cell.delta;
        if (cell.ci_low) m["ci95"] = {*cell.ci_low, *cell.ci_high};
        metrics[t.columns[c].metric] = std::move(m);
      }
      json axes = json::object();
      for (const auto& [path, value] : row.axes) axes[path] = value;
      json j = {{"axes", axes},
                {"config", row.config},
                {"seeds", row.seeds},
                {"runs", row.runs},
                {"finished", row.finished},
                {"failed", row.failed},
                {"reference", row.reference},
                {"reference_row", row.reference_row ? json(*row.reference_row) : json()},
                {"metrics", metrics}};
      if (r < t.curves.size() && !t.curves[r].empty()) {
        json curves = json::object();
        for (const auto& c : t.curves[r]) curves[c.metric] = {{"epochs", c.epochs}, {"mean", c.mean}};
        j["curves"] = std::move(curves);
      }
      rows.push_back(std::move(j));
    }
    tables.push_back({{"experiment", t.experiment},
                      {"axes", t.axes},
                      {"columns", columns},
                      {"runs", t.runs},
                      {"finished", t.finished},
                      {"failed", t.failed},
                      {"rows", rows}});
  }
  const Footer& f = report.footer;
  json footer = {{"store", f.store_path}, {"results_sha256", f.store_hash}, {"seeds", f.seeds},
                 {"commits", f.commits},  {"versions", f.versions},         {"cpus", f.cpus},
                 {"math", f.math},        {"generated_by", f.generated_by}};
  json doc = {
      {"schema", "r2q-report/1"}, {"bootstrap", report.bootstrap}, {"tables", tables}, {"footer", footer}};
  out << doc.dump(2) << "\n";
}

}  // namespace r2q::reports
