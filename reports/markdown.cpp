// Markdown (GitHub-flavoured) tables: one row per configuration, mean ± std over seeds, Δ vs the FP32 row of
// the same model and dataset in parentheses, the best value of each column in bold.
#include <algorithm>

#include "core/util/text.h"
#include "reports/writers.h"

namespace r2q::reports {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string header_of(const Column& c) {
  return c.header + (c.unit.empty() ? "" : " (" + c.unit + ")");
}

std::string cell_text(const Column& column, const Cell& cell) {
  std::string text = format_value(column, cell.stat);
  if (cell.best) text = "**" + text + "**";
  if (cell.delta) text += " (" + format_delta(column, *cell.delta) + ")";
  if (cell.ci_low)
    text += " [" + format_value(column, {*cell.ci_low, 0, 1}) + ", " +
            format_value(column, {*cell.ci_high, 0, 1}) + "]";
  return text;
}

void write_markdown_table(std::ostream& out, const ReportTable& t) {
  out << "## " << t.experiment << "\n\n|";
  for (const auto& a : t.axes) out << " " << escape(a) << " |";
  out << " seeds |";
  for (const auto& c : t.columns) out << " " << escape(header_of(c)) << " |";
  out << "\n|";
  for (size_t i = 0; i < t.axes.size(); ++i) out << "---|";
  out << "---:|";
  for (size_t i = 0; i < t.columns.size(); ++i) out << "---:|";
  out << "\n";
  for (const auto& row : t.rows) {
    out << "|";
    for (const auto& a : t.axes) out << " " << escape(format_axis(row.axes.at(a))) << " |";
    out << " " << row.finished;
    if (row.finished != row.runs) out << "/" << row.runs;
    out << " |";
    for (size_t c = 0; c < t.columns.size(); ++c) out << " " << cell_text(t.columns[c], row.cells[c]) << " |";
    out << "\n";
  }
  out << "\n" << t.finished << " of " << t.runs << " runs finished";
  if (t.failed) out << ", " << t.failed << " failed";
  out << ".\n";
}

}  // namespace

void write_markdown(std::ostream& out, const Report& report) {
  for (size_t i = 0; i < report.tables.size(); ++i) {
    if (i) out << "\n";
    write_markdown_table(out, report.tables[i]);
  }
  const Footer& f = report.footer;
  const auto seeds = f.seed_items(), versions = f.version_items();
  out << "\nMean ± sample std over seeds; accuracies in percent on the test set; (+x / −x) is the difference "
         "to the "
         "FP32 row of the same model and dataset; bold is the best of each column";
  if (report.bootstrap) out << "; [a, b] is the 95% bootstrap interval of the mean";
  out << ".\n\nSeeds: " << (seeds.empty() ? "–" : join(seeds, ", "))
      << ". Code: " << (f.commits.empty() ? "–" : join(f.commits, ", "))
      << ". Versions: " << (versions.empty() ? "–" : join(versions, "; "))
      << ". CPU: " << (f.cpus.empty() ? "–" : join(f.cpus, ", "))
      << ". Math: " << (f.math.empty() ? "–" : join(f.math, "; ")) << ". Store: " << f.store_path
      << " (results sha256 " << f.store_hash.substr(0, 16) << "). " << f.generated_by << ".\n";
}

}  // namespace r2q::reports
