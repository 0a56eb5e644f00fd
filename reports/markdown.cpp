// Markdown writer.
#include "reports/markdown.h"

#include <cstdio>

#include "core/train/metric_names.h"
#include "core/util/text.h"

namespace r2q::reports {
namespace {

std::string cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "–";
  return v.dump();
}

std::string escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else
      out += c;
  }
  return out;
}

std::string format_seconds(const Stat& s) {
  if (s.n == 0) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", s.mean);
  return buf;
}

}  // namespace

std::string format_percent(const Stat& stat) {
  if (stat.n == 0) return "–";
  char buf[64];
  if (stat.n == 1)
    std::snprintf(buf, sizeof buf, "%.2f", 100 * stat.mean);
  else
    std::snprintf(buf, sizeof buf, "%.2f ± %.2f", 100 * stat.mean, 100 * stat.std);
  return buf;
}

void write_markdown(std::ostream& out, const Table& table, const ReportContext& context) {
  out << "## " << table.experiment << "\n\n";
  const auto attacks = attack_columns(table);
  std::vector<std::string> header = table.varying;
  header.push_back("seeds");
  header.push_back("clean acc (%)");
  for (const auto& a : attacks) header.push_back(a.header + " (%)");
  header.push_back("train time (s)");

  out << "|";
  for (const auto& h : header) out << " " << escape(h) << " |";
  out << "\n|";
  for (size_t i = 0; i < header.size(); ++i) out << (i < table.varying.size() ? "---|" : "---:|");
  out << "\n";

  auto stat = [](const Group& g, const std::string& name) {
    auto it = g.metrics.find(name);
    return it == g.metrics.end() ? Stat{} : it->second;
  };
  for (const auto& g : table.groups) {
    out << "|";
    for (const auto& path : table.varying) out << " " << escape(cell(g.values.at(path))) << " |";
    out << " " << g.finished;
    if (g.finished != g.runs) out << "/" << g.runs;
    out << " |";
    out << " " << format_percent(stat(g, metric::kTestAcc)) << " |";
    for (const auto& a : attacks) out << " " << format_percent(stat(g, a.metric)) << " |";
    out << " " << format_seconds(stat(g, metric::kTrainSeconds)) << " |\n";
  }

  int runs = 0, finished = 0, failed = 0;
  for (const auto& g : table.groups) {
    runs += g.runs;
    finished += g.finished;
    failed += g.failed;
  }
  out << "\n" << finished << " of " << runs << " runs finished";
  if (failed) out << ", " << failed << " failed";
  out << ". Mean ± sample std over seeds; accuracies in percent on the test set. Code: "
      << (table.commits.empty() ? std::string("–") : join(table.commits, ", "))
      << ". Store: " << context.store_path << ".\n";
}

}  // namespace r2q::reports
