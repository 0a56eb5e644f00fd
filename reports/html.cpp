// HTML writer: one self-contained page (inline CSS, hand-written inline SVG plots, no scripts, no external
// resources), readable on a phone and printable. Deterministic: equal reports give byte-identical pages.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "reports/writers.h"

namespace r2q::reports {
namespace {

constexpr const char* kStyle = R"css(
:root{color-scheme:light}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1b1b;background:#fff}
main{max-width:1000px;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}
h2{font-size:1.25rem;margin:2.2rem 0 .4rem;padding-bottom:.2rem;border-bottom:1px solid #ccc;overflow-wrap:anywhere}
.meta,.unit,.delta,.ci,.tag,figcaption,footer{color:#5f5f5f}
.meta{margin:.2rem 0 .6rem;font-size:.9rem}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5rem 0 1rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;white-space:nowrap;font-size:.92rem}
th,td{padding:.3rem .65rem;text-align:left;vertical-align:top;border-bottom:1px solid #e2e2e2}
thead th{border-bottom:2px solid #777;font-weight:600}
th.num,td.num{text-align:right}
tr.ref td{background:#f3f5f8}
.unit,.delta,.ci,.tag{font-size:.8em;font-weight:normal}
.delta{margin-left:.35em}
.ci{display:block}
figure{margin:1.2rem 0;overflow-x:auto;-webkit-overflow-scrolling:touch}
figure svg{display:block;width:100%;height:auto;max-width:760px;min-width:440px}
figcaption{font-size:.9rem;margin-top:.3rem}
svg text{font:13px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:#333}
svg .grid{stroke:#e4e4e4;stroke-width:1}
svg .axis{stroke:#444;stroke-width:1}
footer{margin-top:2.5rem;padding-top:.6rem;border-top:1px solid #ccc;font-size:.85rem}
footer dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0}
footer dt{font-weight:600}
footer dd{margin:0;overflow-wrap:anywhere}
@media print{
*{background:transparent!important;box-shadow:none!important}
body{font-size:10pt;color:#000}
main{max-width:none;padding:0}
.table-wrap,figure{overflow:visible}
table{white-space:normal}
figure svg{min-width:0;max-width:16cm}
table,figure,footer{break-inside:avoid;page-break-inside:avoid}
h2{break-after:avoid;page-break-after:avoid}
}
)css";

// Okabe-Ito colours (yellow replaced by grey, which prints better), with a dash pattern per series so that
// lines stay apart in greyscale print as well.
constexpr const char* kColors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                   "#E69F00", "#56B4E9", "#000000", "#999999"};
constexpr const char* kDashes[] = {"", "7 4", "2 3"};

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v == 0 ? 0.0 : v);  // no "-0"
  return buf;
}
std::string coord(double v) {
  return fmt("%.1f", v);
}

// At most `n` code points of UTF-8 text, "…" appended when cut.
std::string truncate(const std::string& s, size_t n) {
  size_t points = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && points++ == n) return s.substr(0, i) + "…";
  return s;
}

std::string row_label(const ReportTable& t, const Row& row, const std::string& skip = "") {
  std::string label;
  for (const auto& axis : t.axes) {
    if (axis == skip) continue;
    auto it = row.axes.find(axis);
    label +=
        (label.empty() ? "" : ", ") + (it == row.axes.end() ? std::string("–") : format_axis(it->second));
  }
  return label.empty() ? "all" : label;
}

// ---- plots ----

struct Series {
  std::string label;
  std::map<double, double> points;  // x -> y, sorted by x
};

struct Plot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool data_x_ticks = true;  // tick at every distinct x (eps, bit-widths) rather than at round numbers
  bool log2_x = false;       // bit-widths: 2, 4, 8 and 32 apart by their ratio
};

// Round-number ticks covering [lo, hi]; lo and hi are widened to the outer ticks.
std::vector<double> nice_ticks(double& lo, double& hi, bool integer) {
  if (hi - lo < 1e-12) {
    const double pad = std::max(std::abs(lo) * 0.05, integer ? 1.0 : 0.5);
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / 5, mag = std::pow(10.0, std::floor(std::log10(raw))), f = raw / mag;
  double step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
  if (integer) step = std::max(step, 1.0);
  lo = std::floor(lo / step + 1e-9) * step;
  hi = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> ticks;
  for (int i = 0; lo + i * step <= hi + step * 1e-6; ++i) ticks.push_back(lo + i * step);
  return ticks;
}

std::string tick_label(double v, double step) {
  const int decimals = step >= 1 ? 0 : std::min(6, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::abs(v) < step * 1e-6 ? 0.0 : v);
  return buf;
}

void write_plot(std::ostream& out, Plot plot, const std::string& caption) {
  // Diverged runs (NaN or infinite loss) and non-positive x on a log scale cannot be drawn.
  for (auto& s : plot.series)
    std::erase_if(s.points, [&](const auto& p) {
      return !std::isfinite(p.first) || !std::isfinite(p.second) || (plot.log2_x && p.first <= 0);
    });
  std::erase_if(plot.series, [](const Series& s) { return s.points.empty(); });
  if (plot.series.empty()) return;
  constexpr double W = 640, left = 62, right = 624, top = 16, bottom = 292, row_h = 20, legend_top = 346;
  const size_t legend_rows = (plot.series.size() + 1) / 2;
  const double H = legend_top + row_h * static_cast<double>(legend_rows) + 6;

  std::set<double> xs;
  double ylo = INFINITY, yhi = -INFINITY;
  for (const auto& s : plot.series)
    for (const auto& [x, y] : s.points) {
      xs.insert(x);
      ylo = std::min(ylo, y);
      yhi = std::max(yhi, y);
    }
  auto tx = [&](double x) { return plot.log2_x ? std::log2(x) : x; };
  double xlo = tx(*xs.begin()), xhi = tx(*xs.rbegin());
  std::vector<double> xticks;
  std::string (*xtext)(double, double) = tick_label;
  double xstep = 1;
  if (plot.log2_x || (plot.data_x_ticks && xs.size() <= 12)) {
    xticks.assign(xs.begin(), xs.end());
    xtext = [](double v, double) { return fmt("%g", v); };
    if (xs.size() == 1) xlo -= 1, xhi += 1;
  } else {
    xticks = nice_ticks(xlo, xhi, true);
    if (xticks.size() > 1) xstep = xticks[1] - xticks[0];
  }
  const auto yticks = nice_ticks(ylo, yhi, false);
  const double ystep = yticks.size() > 1 ? yticks[1] - yticks[0] : 1;
  auto X = [&](double x) { return left + (tx(x) - xlo) / (xhi - xlo) * (right - left); };
  auto Y = [&](double y) { return bottom - (y - ylo) / (yhi - ylo) * (bottom - top); };

  out << "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << W << ' ' << H
      << "\" role=\"img\" aria-label=\"" << esc(plot.title) << "\">\n<title>" << esc(plot.title)
      << "</title>\n";
  for (double t : yticks)
    out << "<line class=\"grid\" x1=\"" << left << "\" x2=\"" << right << "\" y1=\"" << coord(Y(t))
        << "\" y2=\"" << coord(Y(t)) << "\"/><text x=\"" << left - 6 << "\" y=\"" << coord(Y(t) + 4)
        << "\" text-anchor=\"end\">" << tick_label(t, ystep) << "</text>\n";
  double last_label = -INFINITY;
  for (double t : xticks) {
    out << "<line class=\"axis\" x1=\"" << coord(X(t)) << "\" x2=\"" << coord(X(t)) << "\" y1=\"" << bottom
        << "\" y2=\"" << bottom + 5 << "\"/>";
    if (X(t) - last_label >= 30) {  // skip labels that would overlap the previous one
      out << "<text x=\"" << coord(X(t)) << "\" y=\"" << bottom + 19 << "\" text-anchor=\"middle\">"
          << xtext(t, xstep) << "</text>";
      last_label = X(t);
    }
    out << "\n";
  }
  out << "<line class=\"axis\" x1=\"" << left << "\" x2=\"" << right << "\" y1=\"" << bottom << "\" y2=\""
      << bottom << "\"/><line class=\"axis\" x1=\"" << left << "\" x2=\"" << left << "\" y1=\"" << top
      << "\" y2=\"" << bottom << "\"/>\n";
  out << "<text x=\"" << (left + right) / 2 << "\" y=\"" << bottom + 36 << "\" text-anchor=\"middle\">"
      << esc(plot.x_label) << "</text>\n<text transform=\"rotate(-90)\" x=\"" << -(top + bottom) / 2
      << "\" y=\"16\" text-anchor=\"middle\">" << esc(plot.y_label) << "</text>\n";

  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    const std::string color = kColors[i % 8], dash = kDashes[i % 3];
    const std::string dash_attr = dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"";
    out << "<g><title>" << esc(s.label) << "</title>\n";
    if (s.points.size() > 1) {
      out << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\"" << dash_attr
          << " points=\"";
      for (auto it = s.points.begin(); it != s.points.end(); ++it)
        out << (it == s.points.begin() ? "" : " ") << coord(X(it->first)) << ',' << coord(Y(it->second));
      out << "\"/>\n";
    }
    for (const auto& [x, y] : s.points)
      out << "<circle cx=\"" << coord(X(x)) << "\" cy=\"" << coord(Y(y)) << "\" r=\"3.5\" fill=\"" << color
          << "\" stroke=\"#fff\" stroke-width=\"1\"><title>" << esc(s.label) << ": " << fmt("%g", x) << ", "
          << fmt("%.2f", y) << "</title></circle>\n";
    // Legend: two columns below the x label.
    const double lx = left + static_cast<double>(i % 2) * 280,
                 ly = legend_top + 10 + row_h * static_cast<double>(i / 2);
    out << "<line x1=\"" << lx << "\" x2=\"" << lx + 26 << "\" y1=\"" << coord(ly) << "\" y2=\"" << coord(ly)
        << "\" stroke=\"" << color << "\" stroke-width=\"2\"" << dash_attr << "/><circle cx=\"" << lx + 13
        << "\" cy=\"" << coord(ly) << "\" r=\"3.5\" fill=\"" << color << "\"/><text x=\"" << lx + 32
        << "\" y=\"" << coord(ly + 4) << "\">" << esc(truncate(s.label, 40)) << "</text>\n</g>\n";
  }
  out << "</svg>\n<figcaption>" << esc(caption) << "</figcaption>\n</figure>\n";
}

std::optional<double> fgsm_eps_of(const std::string& metric) {
  const std::string_view prefix = "test/fgsm/", suffix = "/acc";
  if (!metric.starts_with(prefix) || !metric.ends_with(suffix) ||
      metric.size() <= prefix.size() + suffix.size())
    return std::nullopt;
  const char* first = metric.data() + prefix.size();
  const char* last = metric.data() + metric.size() - suffix.size();
  double eps = 0;
  auto [end, ec] = std::from_chars(first, last, eps);
  if (ec != std::errc() || end != last) return std::nullopt;
  return eps;
}

std::optional<size_t> column_of(const ReportTable& t, const std::string& metric) {
  for (size_t c = 0; c < t.columns.size(); ++c)
    if (t.columns[c].metric == metric) return c;
  return std::nullopt;
}

std::optional<double> shown_mean(const ReportTable& t, const Row& row, size_t c) {
  if (c >= row.cells.size() || row.cells[c].stat.n == 0) return std::nullopt;
  return t.columns[c].scale() * row.cells[c].stat.mean;
}

void write_plots(std::ostream& out, const ReportTable& t) {
  const auto clean = column_of(t, "test/acc");
  // (a) accuracy vs FGSM eps, eps 0 being the clean accuracy.
  std::vector<std::pair<double, size_t>> fgsm;
  for (size_t c = 0; c < t.columns.size(); ++c)
    if (auto eps = fgsm_eps_of(t.columns[c].metric)) fgsm.emplace_back(*eps, c);
  if (!fgsm.empty()) {
    Plot p{"Accuracy vs FGSM ε", "FGSM ε", "accuracy (%)", {}};
    for (const auto& row : t.rows) {
      Series s{row_label(t, row), {}};
      if (clean)
        if (auto y = shown_mean(t, row, *clean)) s.points.emplace(0.0, *y);
      for (const auto& [eps, c] : fgsm)
        if (auto y = shown_mean(t, row, c)) s.points.emplace(eps, *y);
      if (!s.points.empty()) p.series.push_back(std::move(s));
    }
    if (!p.series.empty())
      write_plot(out, p,
                 "Accuracy vs FGSM ε of " + t.experiment + " (ε = 0: clean accuracy), mean over seeds.");
  }
  // (b) accuracy vs bit-width, one line per combination of the other axes.
  std::string bits_axis;
  for (const char* name : {"quant.weight_bits", "quant.bits"})
    if (bits_axis.empty() && std::find(t.axes.begin(), t.axes.end(), name) != t.axes.end()) bits_axis = name;
  if (clean && !bits_axis.empty()) {
    Plot p{"Accuracy vs bit-width", bits_axis + " (log scale)", "clean accuracy (%)", {}, true, true};
    std::set<double> widths;
    for (const auto& row : t.rows) {
      auto it = row.axes.find(bits_axis);
      auto y = shown_mean(t, row, *clean);
      if (it == row.axes.end() || !it->second.is_number() || !y) continue;
      const std::string label = row_label(t, row, bits_axis);
      auto s =
          std::find_if(p.series.begin(), p.series.end(), [&](const Series& x) { return x.label == label; });
      if (s == p.series.end()) s = p.series.insert(p.series.end(), Series{label, {}});
      s->points.emplace(it->second.get<double>(), *y);
      widths.insert(it->second.get<double>());
    }
    if (widths.size() > 1)
      write_plot(out, p, "Clean accuracy vs " + bits_axis + " of " + t.experiment + ", mean over seeds.");
  }
  // (c) training curves: one plot per metric, one line per row.
  std::vector<std::string> metrics;
  for (const auto& row_curves : t.curves)
    for (const auto& c : row_curves)
      if (std::find(metrics.begin(), metrics.end(), c.metric) == metrics.end()) metrics.push_back(c.metric);
  const std::vector<std::string> order = {"train/loss", "train/acc", "val/acc"};
  auto rank = [&](const std::string& m) { return std::find(order.begin(), order.end(), m) - order.begin(); };
  std::sort(metrics.begin(), metrics.end(),
            [&](const auto& a, const auto& b) { return rank(a) != rank(b) ? rank(a) < rank(b) : a < b; });
  for (const auto& metric : metrics) {
    const bool accuracy = metric.ends_with("/acc");
    Plot p{"Training curves: " + metric, "epoch", accuracy ? metric + " (%)" : metric, {}, false};
    for (size_t r = 0; r < t.curves.size() && r < t.rows.size(); ++r)
      for (const auto& c : t.curves[r]) {
        if (c.metric != metric) continue;
        Series s{row_label(t, t.rows[r]), {}};
        for (size_t i = 0; i < c.epochs.size() && i < c.mean.size(); ++i)
          s.points.emplace(static_cast<double>(c.epochs[i]), (accuracy ? 100.0 : 1.0) * c.mean[i]);
        if (!s.points.empty()) p.series.push_back(std::move(s));
      }
    if (!p.series.empty())
      write_plot(out, p,
                 "Training curves of " + t.experiment + ": " + metric + " per epoch, mean over seeds.");
  }
}

// ---- tables and footer ----

void write_html_table(std::ostream& out, const ReportTable& t) {
  out << "<section>\n<h2>" << esc(t.experiment) << "</h2>\n<p class=\"meta\">" << t.finished << " of "
      << t.runs << " runs finished" << (t.failed ? ", " + std::to_string(t.failed) + " failed" : "")
      << ".</p>\n";
  out << "<div class=\"table-wrap\">\n<table>\n<thead><tr>";
  for (const auto& axis : t.axes) out << "<th scope=\"col\">" << esc(axis) << "</th>";
  out << "<th scope=\"col\" class=\"num\">seeds</th>";
  for (const auto& c : t.columns) {
    out << "<th scope=\"col\" class=\"num\">" << esc(c.header);
    if (!c.unit.empty()) out << " <span class=\"unit\">(" << esc(c.unit) << ")</span>";
    out << "</th>";
  }
  out << "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    out << (row.reference ? "<tr class=\"ref\">" : "<tr>");
    const std::string ref_tag = row.reference ? " <span class=\"tag\">(ref)</span>" : "";
    for (size_t a = 0; a < t.axes.size(); ++a) {
      auto it = row.axes.find(t.axes[a]);
      out << "<td>" << esc(it == row.axes.end() ? "–" : format_axis(it->second)) << (a == 0 ? ref_tag : "")
          << "</td>";
    }
    std::string seeds;
    for (auto s : row.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(s);
    out << "<td class=\"num\" title=\"seeds: " << esc(seeds.empty() ? "–" : seeds) << "\">" << row.finished;
    if (row.finished != row.runs) out << '/' << row.runs;
    out << (t.axes.empty() ? ref_tag : "") << "</td>";
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const Column& col = t.columns[c];
      const Cell cell = c < row.cells.size() ? row.cells[c] : Cell{};
      std::string ci;
      if (cell.ci_low && cell.ci_high)
        ci = "95% CI [" + format_value(col, {*cell.ci_low, 0, 1}) + ", " +
             format_value(col, {*cell.ci_high, 0, 1}) + "]";
      out << "<td class=\"num\"" << (ci.empty() ? "" : " title=\"" + esc(ci) + "\"") << ">";
      const std::string value = esc(format_value(col, cell.stat));
      out << (cell.best ? "<strong>" + value + "</strong>" : value);
      if (cell.delta)
        out << "<span class=\"delta\" title=\"difference to the FP32 reference\">Δ "
            << esc(format_delta(col, *cell.delta)) << "</span>";
      if (!ci.empty()) out << "<span class=\"ci\">" << esc(ci) << "</span>";
      out << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</tbody>\n</table>\n</div>\n";
  write_plots(out, t);
  out << "</section>\n";
}

std::string listed(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s.empty() ? "–" : s;
}

void write_footer(std::ostream& out, const Report& report) {
  const Footer& f = report.footer;
  const auto seeds = f.seed_items(), versions = f.version_items();
  out << "<footer>\n<p>Mean ± sample std over seeds; accuracies in percent. Δ: difference to the FP32 "
         "reference "
         "row of the same dataset and model; best values in bold.";
  if (report.bootstrap) out << " 95% CI: percentile bootstrap interval of the mean.";
  out << "</p>\n<dl>\n";
  auto item = [&](const char* name, const std::string& value, bool code = false) {
    out << "<dt>" << name << "</dt><dd>" << (code ? "<code>" : "") << esc(value.empty() ? "–" : value)
        << (code ? "</code>" : "") << "</dd>\n";
  };
  item("store", f.store_path, true);
  item("store hash", f.store_hash, true);
  item("seeds", listed(seeds));
  item("code", listed(f.commits), true);
  item("versions", listed(versions));
  item("CPUs", listed(f.cpus));
  item("math", listed(f.math));
  item("generated by", f.generated_by);
  out << "</dl>\n</footer>\n";
}

}  // namespace

void write_html(std::ostream& out, const Report& report) {
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>r2q "
         "report</title>\n"
         "<style>"
      << kStyle << "</style>\n</head>\n<body>\n<main>\n<h1>r2q report</h1>\n";
  for (const auto& table : report.tables) write_html_table(out, table);
  write_footer(out, report);
  out << "</main>\n</body>\n</html>\n";
}

}  // namespace r2q::reports
