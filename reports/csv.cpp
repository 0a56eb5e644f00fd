// CSV (RFC 4180): one header, one row per configuration of every table; raw stored values (accuracies as
// fractions), so spreadsheets and pandas get numbers, not formatted text.
#include <charconv>
#include <set>

#include "reports/writers.h"

namespace r2q::reports {
namespace {

std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string number(double v) {
  // printf's "%.10g", without its cost (a large report writes ~10^6 numbers).
  char buf[64];
  auto end = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 10).ptr;
  return std::string(buf, end);
}

}  // namespace

void write_csv(std::ostream& out, const Report& report) {
  // Union of the tables' axes and metrics, in first-seen order.
  std::vector<std::string> axes, metrics;
  std::set<std::string> seen_axes, seen_metrics;
  for (const auto& t : report.tables) {
    for (const auto& a : t.axes)
      if (seen_axes.insert(a).second) axes.push_back(a);
    for (const auto& c : t.columns)
      if (seen_metrics.insert(c.metric).second) metrics.push_back(c.metric);
  }
  std::vector<std::string> header = {"experiment"};
  header.insert(header.end(), axes.begin(), axes.end());
  for (const char* h : {"seeds", "runs", "finished", "failed", "reference"}) header.push_back(h);
  for (const auto& m : metrics) {
    for (const char* suffix : {":mean", ":std", ":n", ":delta"}) header.push_back(m + suffix);
    if (report.bootstrap) {
      header.push_back(m + ":ci_low");
      header.push_back(m + ":ci_high");
    }
  }
  for (size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << quote(header[i]);
  out << "\n";

  for (const auto& t : report.tables)
    for (const auto& row : t.rows) {
      std::vector<std::string> fields = {t.experiment};
      for (const auto& a : axes) {
        auto it = row.axes.find(a);
        fields.push_back(it == row.axes.end()     ? ""
                         : it->second.is_string() ? it->second.get<std::string>()
                                                  : it->second.dump());
      }
      std::string seeds;
      for (auto s : row.seeds) seeds += (seeds.empty() ? "" : " ") + std::to_string(s);
      fields.push_back(seeds);
      fields.push_back(std::to_string(row.runs));
      fields.push_back(std::to_string(row.finished));
      fields.push_back(std::to_string(row.failed));
      fields.push_back(row.reference ? "true" : "false");
      for (const auto& m : metrics) {
        const Cell* cell = nullptr;
        for (size_t c = 0; c < t.columns.size(); ++c)
          if (t.columns[c].metric == m) cell = &row.cells[c];
        const bool has = cell && cell->stat.n > 0;
        fields.push_back(has ? number(cell->stat.mean) : "");
        fields.push_back(has ? number(cell->stat.std) : "");
        fields.push_back(cell ? std::to_string(cell->stat.n) : "");
        fields.push_back(has && cell->delta ? number(*cell->delta) : "");
        if (report.bootstrap) {
          fields.push_back(has && cell->ci_low ? number(*cell->ci_low) : "");
          fields.push_back(has && cell->ci_high ? number(*cell->ci_high) : "");
        }
      }
      for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << quote(fields[i]);
      out << "\n";
    }
}

}  // namespace r2q::reports
