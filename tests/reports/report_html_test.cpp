// The HTML report writer on a hand-made report: a self-contained, deterministic page with tables and plots.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "reports/writers.h"

namespace r2q::reports {
namespace {

Cell cell(double mean, double std, int n, std::optional<double> delta = std::nullopt, bool best = false) {
  Cell c;
  c.stat = {mean, std, n};
  c.delta = delta;
  c.best = best;
  return c;
}

Row row(const std::string& method, bool reference, std::vector<Cell> cells) {
  Row r;
  r.axes = {{"quant.method", method}};
  r.config = {{"quant", {{"method", method}}}};
  r.seeds = {0, 1, 2};
  r.runs = 3;
  r.finished = 3;
  r.reference = reference;
  if (!reference) r.reference_row = 0;
  r.cells = std::move(cells);
  return r;
}

Curve loss_curve(double start) {
  return {"train/loss", {1, 2, 3}, {start, start * 0.6, start * 0.4}};
}

Report sample_report() {
  ReportTable t;
  t.experiment = "mnist <q&a> \"2-bit\"";
  t.axes = {"quant.method"};
  t.columns = {{"clean acc", "test/acc", "%", true},
               {"FGSM 0.03", "test/fgsm/0.03/acc", "%", true},
               {"FGSM 0.1", "test/fgsm/0.1/acc", "%", true},
               {"train time", "train/seconds", "s", false}};
  t.rows.push_back(
      row("fp32", true, {cell(0.91, 0.01, 3), cell(0.60, 0.02, 3), cell(0.30, 0.03, 3), cell(100, 5, 3)}));
  t.rows.push_back(row("r2q", false,
                       {cell(0.89, 0.01, 3, -0.02, true), cell(0.65, 0.02, 3, 0.05, true),
                        cell(0.35, 0.01, 3, 0.05, true), cell(120, 4, 3, 20.0)}));
  t.rows.push_back(row("dorefa", false,
                       {cell(0.85, 0.02, 3, -0.06), cell(0.50, 0.04, 3, -0.10), cell(0.20, 0.02, 3, -0.10),
                        cell(110, 3, 3, 10.0, true)}));
  t.rows.back().cells[0].ci_low = 0.84;
  t.rows.back().cells[0].ci_high = 0.86;
  t.curves = {{loss_curve(2.0)}, {loss_curve(2.2)}, {loss_curve(2.4)}};
  t.runs = t.finished = 9;

  Report report;
  report.tables.push_back(t);
  report.footer.store_path = "runs/r2q.db";
  report.footer.store_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  report.footer.seeds = {0, 1, 2};
  report.footer.commits = {"0123456789ab+dirty"};
  report.footer.versions = {{"libtorch", "2.1.2"}, {"compiler", "GCC 12.2.0"}};
  report.footer.cpus = {"AMD EPYC 7B13"};
  report.footer.generated_by = "r2q 0.1.0";
  report.bootstrap = true;
  return report;
}

std::string html(const Report& report) {
  std::ostringstream out;
  write_html(out, report);
  return out.str();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

TEST(Html, SelfContainedPageWithTableAndFooter) {
  const std::string page = html(sample_report());
  EXPECT_TRUE(page.starts_with("<!DOCTYPE html>\n")) << page.substr(0, 100);
  EXPECT_NE(page.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(page.find("name=\"viewport\""), std::string::npos);
  EXPECT_NE(page.find("<title>r2q report</title>"), std::string::npos);
  EXPECT_NE(page.find("@media print"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_TRUE(page.ends_with("</html>\n"));

  // Escaped experiment name; the raw one never appears.
  EXPECT_NE(page.find("<h2>mnist &lt;q&amp;a&gt; &quot;2-bit&quot;</h2>"), std::string::npos);
  EXPECT_EQ(page.find("<q&a>"), std::string::npos);

  // Table: header with unit, best cells bold, deltas, reference row, interval.
  EXPECT_NE(page.find("clean acc <span class=\"unit\">(%)</span>"), std::string::npos);
  EXPECT_NE(page.find("<strong>89.00 ± 1.00</strong>"), std::string::npos);
  EXPECT_NE(page.find("<strong>110 ± 3</strong>"), std::string::npos);
  EXPECT_EQ(page.find("<strong>91.00"), std::string::npos);  // the reference is never best
  EXPECT_NE(page.find("Δ \u22122.00"), std::string::npos);
  EXPECT_NE(page.find("Δ +5.00"), std::string::npos);
  EXPECT_NE(page.find("<tr class=\"ref\"><td>fp32 <span class=\"tag\">(ref)</span></td>"), std::string::npos);
  EXPECT_NE(page.find("95% CI [84.00, 86.00]"), std::string::npos);
  EXPECT_EQ(count(page, "<tr class=\"ref\">"), 1u);

  // Footer.
  EXPECT_NE(page.find("<footer>"), std::string::npos);
  EXPECT_NE(page.find(sample_report().footer.store_hash), std::string::npos);
  EXPECT_NE(page.find("runs/r2q.db"), std::string::npos);
  EXPECT_NE(page.find("0123456789ab+dirty"), std::string::npos);
  EXPECT_NE(page.find("libtorch 2.1.2"), std::string::npos);
  EXPECT_NE(page.find("AMD EPYC 7B13"), std::string::npos);
  EXPECT_NE(page.find("r2q 0.1.0"), std::string::npos);
  EXPECT_NE(page.find("Mean ± sample std over seeds; accuracies in percent"), std::string::npos);
}

TEST(Html, PlotsAccuracyVsEpsAndTrainingCurves) {
  const std::string page = html(sample_report());
  // FGSM plot + one training-curve plot (train/loss); no bit-width axis, so no bit-width plot.
  EXPECT_EQ(count(page, "<svg"), 2u);
  EXPECT_EQ(count(page, "role=\"img\""), 2u);
  EXPECT_EQ(count(page, "<figure>"), 2u);
  EXPECT_EQ(count(page, "<figcaption>"), 2u);
  EXPECT_NE(page.find("aria-label=\"Accuracy vs FGSM ε\""), std::string::npos);
  EXPECT_NE(page.find("aria-label=\"Training curves: train/loss\""), std::string::npos);
  EXPECT_EQ(page.find("Accuracy vs bit-width"), std::string::npos);
  // One polyline per row in each plot, three markers per line.
  EXPECT_EQ(count(page, "<polyline"), 6u);
  EXPECT_EQ(count(page, "<circle"), 18u + 6u);  // markers + legend symbols
}

TEST(Html, BitWidthPlotWhenTheBitsAxisVaries) {
  Report report = sample_report();
  ReportTable& t = report.tables[0];
  t.axes = {"quant.method", "quant.weight_bits"};
  t.curves.clear();
  for (size_t r = 0; r < t.rows.size(); ++r) t.rows[r].axes["quant.weight_bits"] = r == 0 ? 32 : 2 + 2 * r;
  const std::string page = html(report);
  EXPECT_EQ(count(page, "<svg"), 2u);  // FGSM + bit-width
  EXPECT_NE(page.find("aria-label=\"Accuracy vs bit-width\""), std::string::npos);
}

TEST(Html, NoExternalResources) {
  const std::string page = html(sample_report());
  std::string rest = page;
  const std::string xmlns = "xmlns=\"http://www.w3.org/2000/svg\"";
  for (size_t at; (at = rest.find(xmlns)) != std::string::npos;) rest.erase(at, xmlns.size());
  EXPECT_EQ(rest.find("http://"), std::string::npos);
  EXPECT_EQ(rest.find("https://"), std::string::npos);
  EXPECT_EQ(rest.find("src="), std::string::npos);
  EXPECT_EQ(rest.find("url("), std::string::npos);
}

TEST(Html, Deterministic) {
  EXPECT_EQ(html(sample_report()), html(sample_report()));
}

TEST(Html, EmptyReportAndTableWithoutAxes) {
  Report report;
  const std::string empty = html(report);
  EXPECT_TRUE(empty.starts_with("<!DOCTYPE html>"));
  EXPECT_EQ(count(empty, "<svg"), 0u);
  EXPECT_NE(empty.find("<footer>"), std::string::npos);

  ReportTable t;
  t.experiment = "single";
  t.columns = {{"clean acc", "test/acc", "%", true}, {"FGSM 0.03", "test/fgsm/0.03/acc", "%", true}};
  Row r;
  r.runs = 2;
  r.finished = 1;
  r.cells = {cell(0.9, 0, 1), Cell{}};
  t.rows.push_back(r);
  report.tables.push_back(t);
  const std::string page = html(report);
  EXPECT_NE(page.find(">1/2</td>"), std::string::npos);
  EXPECT_NE(page.find(">–</td>"), std::string::npos);
  EXPECT_EQ(count(page, "<svg"), 1u);  // only the clean point, labelled "all"
  EXPECT_NE(page.find("<title>all</title>"), std::string::npos);
}

TEST(Html, NonFiniteValuesAreNotPlotted) {
  Report report = sample_report();
  ReportTable& t = report.tables[0];
  t.curves[0][0].mean[1] = std::nan("");
  t.curves[1][0].mean = {INFINITY, NAN, NAN};
  t.curves[2][0].mean = {NAN, NAN, NAN};
  const std::string page = html(report);
  EXPECT_EQ(page.find("nan"), std::string::npos);
  EXPECT_EQ(page.find("inf"), std::string::npos);
  EXPECT_EQ(count(page, "<svg"), 2u);
  EXPECT_EQ(count(page, "<polyline"), 3u + 1u);  // FGSM: 3 rows; loss: only the first row keeps two points
}

}  // namespace
}  // namespace r2q::reports
