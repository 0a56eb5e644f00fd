// The HTML report in a real browser: headless Chromium renders the page (a screenshot that is not blank and
// shows the plot colours), parses it (the dumped DOM holds the table and the SVG plots) and logs no console
// message from it. Skips when no Chromium is installed (scripts/setup installs it).
#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "reports/writers.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace r2q::reports {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// The first executable named `name` on PATH, or "" when there is none.
std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate.string();
  }
  return "";
}

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"})
    if (auto p = on_path(name); !p.empty()) return p;
  return "";
}

Cell cell(double mean, double std, std::optional<double> delta = std::nullopt, bool best = false) {
  Cell c;
  c.stat = {mean, std, 3};
  c.delta = delta;
  c.best = best;
  return c;
}

Row row(const std::string& method, int bits, std::vector<Cell> cells) {
  Row r;
  r.axes = {{"quant.method", method}, {"quant.weight_bits", bits}};
  r.seeds = {0, 1, 2};
  r.runs = r.finished = 3;
  r.reference = method == "fp32";
  if (!r.reference) r.reference_row = 0;
  r.cells = std::move(cells);
  return r;
}

Curve curve(const std::string& metric, double start, double rate) {
  Curve c{metric, {}, {}};
  for (int e = 1; e <= 10; ++e) {
    c.epochs.push_back(e);
    c.mean.push_back(start * std::pow(rate, e - 1));
  }
  return c;
}

// Two experiments: one with FGSM, bit-width and training-curve plots, one with a single row and no axes.
Report sample_report() {
  ReportTable t;
  t.experiment = "fmnist <lenet> & \"2-bit\"";
  t.axes = {"quant.method", "quant.weight_bits"};
  t.columns = {{"clean acc", "test/acc", "%", true},
               {"FGSM 0.03", "test/fgsm/0.03/acc", "%", true},
               {"FGSM 0.1", "test/fgsm/0.1/acc", "%", true},
               {"train time", "train/seconds", "s", false}};
  t.rows.push_back(row("fp32", 32, {cell(0.91, 0.01), cell(0.60, 0.02), cell(0.30, 0.03), cell(100, 5)}));
  t.rows.push_back(row("r2q", 2,
                       {cell(0.89, 0.01, -0.02), cell(0.65, 0.02, 0.05, true), cell(0.35, 0.01, 0.05, true),
                        cell(120, 4, 20.0)}));
  t.rows.push_back(row(
      "r2q", 4,
      {cell(0.90, 0.01, -0.01, true), cell(0.62, 0.02, 0.02), cell(0.33, 0.01, 0.03), cell(115, 4, 15.0)}));
  t.rows.push_back(row(
      "dorefa", 2,
      {cell(0.85, 0.02, -0.06), cell(0.50, 0.04, -0.10), cell(0.20, 0.02, -0.10), cell(110, 3, 10.0, true)}));
  t.rows.push_back(
      row("dorefa", 4,
          {cell(0.87, 0.02, -0.04), cell(0.52, 0.04, -0.08), cell(0.22, 0.02, -0.08), cell(112, 3, 12.0)}));
  t.rows[1].cells[0].ci_low = 0.88;
  t.rows[1].cells[0].ci_high = 0.90;
  for (size_t r = 0; r < t.rows.size(); ++r)
    t.curves.push_back({curve("train/loss", 2.0 + 0.1 * r, 0.8), curve("val/acc", 0.5 + 0.02 * r, 1.05)});
  t.runs = t.finished = 15;

  ReportTable single;
  single.experiment = "single";
  single.columns = {t.columns[0]};
  Row r;
  r.runs = 2;
  r.finished = 1;
  r.seeds = {0};
  r.cells = {cell(0.9, 0)};
  single.rows.push_back(r);
  single.runs = 2;
  single.finished = 1;

  Report report;
  report.tables = {t, single};
  report.footer.store_path = "runs/r2q.db";
  report.footer.store_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  report.footer.seeds = {0, 1, 2};
  report.footer.commits = {"0123456789ab+dirty"};
  report.footer.versions = {{"libtorch", "2.1.2"}};
  report.footer.cpus = {"test CPU"};
  report.footer.generated_by = "r2q test";
  report.bootstrap = true;
  return report;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

struct Image {
  unsigned width = 0, height = 0;
  std::vector<unsigned char> rgb;  // row-major, 3 bytes a pixel
};

// Decodes a PNG into 8-bit RGB (libpng's simplified API); empty on failure, `error` says why.
Image read_png(const fs::path& path, std::string& error) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  Image out;
  if (!png_image_begin_read_from_file(&image, path.c_str())) {
    error = image.message;
    return out;
  }
  image.format = PNG_FORMAT_RGB;
  out.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr)) {
    error = image.message;
    png_image_free(&image);
    out.rgb.clear();
    return out;
  }
  out.width = image.width;
  out.height = image.height;
  return out;
}

// Lines of Chromium's stderr that are console messages of the page: with --enable-logging=stderr they read
// `[pid:tid:time:INFO:CONSOLE:12] "message", source: file:///.../report.html (12)` (older versions:
// `CONSOLE(12)`). console.error is logged at INFO like console.log, so any message of the page counts, and
// any uncaught exception. Chromium's own noise (D-Bus, GPU, sandbox warnings) is ignored.
std::vector<std::string> page_console_lines(const std::string& err, const std::string& url) {
  std::vector<std::string> lines;
  std::stringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (line.find("CONSOLE") != std::string::npos &&
        (line.find(url) != std::string::npos || line.find("Uncaught") != std::string::npos))
      lines.push_back(line);
  return lines;
}

class Browser : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = find_chromium();
    if (chromium_.empty())
      GTEST_SKIP() << "chromium not found (apt-get install chromium; scripts/setup installs it)";
    std::ostringstream html;
    write_html(html, sample_report());
    page_ = html.str();
    path_ = dir_.write("report.html", page_);
    url_ = "file://" + path_.string();
    fs::create_directories(dir_ / "home");
  }

  // Runs Chromium headless on `url` with `args`, a fresh profile in the temp dir, logging to stderr, under a
  // 60 s timeout. HOME points into the temp dir so that nothing is written to the user's.
  testing::ProcessResult chromium(const std::vector<std::string>& args, const std::string& url) {
    std::vector<std::string> argv;
    if (auto env = on_path("env"); !env.empty()) argv = {env, "HOME=" + (dir_ / "home").string()};
    if (auto timeout = on_path("timeout"); !timeout.empty())
      argv.insert(argv.end(), {timeout, "-k", "5", "60"});
    argv.insert(argv.end(),
                {chromium_, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                 "--user-data-dir=" + (dir_ / ("profile" + std::to_string(runs_++))).string(),
                 "--enable-logging=stderr", "--log-level=0"});
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    return testing::run_process(argv, dir_.path());
  }

  TempDir dir_;
  std::string chromium_, page_, url_;
  fs::path path_;
  int runs_ = 0;
};

TEST_F(Browser, ScreenshotIsNotBlankAndShowsThePlots) {
  const fs::path shot = dir_ / "shot.png";
  auto r = chromium({"--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1280,2000",
                     "--screenshot=" + shot.string()},
                    url_);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(fs::exists(shot)) << "no screenshot written\n" << r.out << r.err;
  std::string error;
  const Image image = read_png(shot, error);
  ASSERT_FALSE(image.rgb.empty()) << "cannot decode " << shot << ": " << error;
  EXPECT_EQ(image.width, 1280u);
  EXPECT_EQ(image.height, 2000u);

  const size_t pixels = size_t{image.width} * image.height;
  auto px = [&](size_t i) {
    return (unsigned{image.rgb[3 * i]} << 16) | (unsigned{image.rgb[3 * i + 1]} << 8) | image.rgb[3 * i + 2];
  };
  const unsigned background = px(0);
  size_t differing = 0;
  std::set<unsigned> colors;
  for (size_t i = 0; i < pixels; ++i) {
    differing += px(i) != background;
    colors.insert(px(i));
  }
  EXPECT_GE(static_cast<double>(differing), 0.02 * static_cast<double>(pixels))
      << "the page looks blank: " << differing << " of " << pixels << " pixels differ from the background";
  EXPECT_GE(colors.size(), 3u);

  // The lines and markers of the first three series (Okabe-Ito blue, vermillion, green) were painted.
  for (unsigned want : {0x0072B2u, 0xD55E00u, 0x009E73u}) {
    size_t near = 0;
    for (size_t i = 0; i < pixels; ++i) {
      const unsigned c = px(i);
      int d = 0;
      for (int shift : {16, 8, 0}) d += std::abs(int((c >> shift) & 0xFF) - int((want >> shift) & 0xFF));
      near += d <= 24;
    }
    EXPECT_GE(near, 20u) << "hardly any pixel of plot colour #" << std::hex << std::setfill('0')
                         << std::setw(6) << want;
  }
}

TEST_F(Browser, DomHasTheTablesAndPlots) {
  auto r = chromium({"--dump-dom"}, url_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string& dom = r.out;
  // FGSM, bit-width, train/loss and val/acc for the first table; the clean-accuracy-only FGSM plot is not
  // drawn for the second (no FGSM column).
  EXPECT_EQ(count(page_, "<svg"), 4u);
  EXPECT_EQ(count(dom, "<svg"), 4u) << dom.substr(0, 2000);
  EXPECT_EQ(count(dom, "<table>"), 2u);
  EXPECT_EQ(count(dom, "</table>"), 2u);
  EXPECT_NE(dom.find("<footer>"), std::string::npos);
  EXPECT_NE(dom.find("fmnist &lt;lenet&gt; &amp; \"2-bit\""), std::string::npos);
  EXPECT_NE(dom.find("<strong>90.00 ± 1.00</strong>"), std::string::npos);
  EXPECT_NE(dom.find("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"), std::string::npos);
  EXPECT_EQ(count(dom, "<polyline"), count(page_, "<polyline"));
  EXPECT_GT(count(dom, "<polyline"), 0u);
}

TEST_F(Browser, NoConsoleMessages) {
  // The check itself: a page that logs an error and throws is caught, so the log format is still understood.
  const fs::path probe =
      dir_.write("probe.html",
                 "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>probe</title></head>"
                 "<body><script>console.error('r2q-probe'); undefinedFunction();</script>"
                 "</body></html>\n");
  auto p = chromium({"--dump-dom"}, "file://" + probe.string());
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto probe_lines = page_console_lines(p.err, "file://" + probe.string());
  ASSERT_GE(probe_lines.size(), 2u)
      << "Chromium did not log the probe page's console messages to stderr; the "
         "flags or the log format changed:\n"
      << p.err;

  auto r = chromium({"--dump-dom"}, url_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& line : page_console_lines(r.err, url_)) ADD_FAILURE() << "console message: " << line;
}

}  // namespace
}  // namespace r2q::reports
