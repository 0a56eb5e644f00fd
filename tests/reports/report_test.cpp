// Reports on hand-made results: aggregation over seeds, Δ vs FP32, best values, bootstrap intervals, filters,
// every text format against its golden file, LaTeX compilation (where a TeX engine exists), verify.
#include <gtest/gtest.h>

#include <sstream>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/store/store.h"
#include "core/util/error.h"
#include "reports/aggregate.h"
#include "reports/collect.h"
#include "reports/report.h"
#include "reports/verify.h"
#include "reports/writers.h"
#include "tests/support/temp_dir.h"

namespace r2q::reports {
namespace {

using nlohmann::json;

RunResult result(const std::string& method, int seed, double acc, double fgsm, bool finished = true) {
  RunResult r;
  r.key = method + std::to_string(seed);
  r.config = {{"quant", {{"method", method}}}, {"seed", seed}, {"train", {{"epochs", 3}}}};
  r.status = finished ? store::RunStatus::Finished : store::RunStatus::Failed;
  if (finished)
    r.metrics = {
        {"test/acc", acc}, {"test/fgsm/0/acc", acc}, {"test/fgsm/0.03/acc", fgsm}, {"train/seconds", 10}};
  r.git_commit = "0123456789abcdef";
  return r;
}

TEST(Summarize, MeanAndSampleStd) {
  auto s = summarize({0.90, 0.92, 0.94});
  EXPECT_NEAR(s.mean, 0.92, 1e-12);
  EXPECT_NEAR(s.std, 0.02, 1e-12);
  EXPECT_EQ(s.n, 3);
  EXPECT_EQ(summarize({0.5}).std, 0.0);
  EXPECT_EQ(summarize({}).n, 0);
}

TEST(Aggregate, GroupsOverSeedsAndFindsTheVaryingFields) {
  auto table = aggregate("e", {result("fp32", 0, 0.90, 0.5), result("fp32", 1, 0.92, 0.7),
                               result("r2q", 0, 0.80, 0.4), result("r2q", 1, 0, 0, false)});
  EXPECT_EQ(table.varying, std::vector<std::string>{"quant.method"});
  ASSERT_EQ(table.groups.size(), 2u);
  EXPECT_EQ(table.groups[0].values.at("quant.method"), "fp32");
  EXPECT_NEAR(table.groups[0].metrics.at("test/acc").mean, 0.91, 1e-12);
  EXPECT_EQ(table.groups[0].seeds, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(table.groups[1].finished, 1);
  EXPECT_EQ(table.groups[1].failed, 1);
  EXPECT_EQ(fgsm_eps(table), (std::vector<double>{0.0, 0.03}));
}

TEST(Aggregate, AttackColumnsFgsmThenPgdThenTransferByEps) {
  Table table;
  table.metrics = {"test/acc",
                   "test/fgsm/0.1/acc",
                   "test/fgsm/0/acc",
                   "test/fgsm/0.03/acc",
                   "test/pgd10/0.03/acc",
                   "test/transfer-fgsm/0.1/acc",
                   "test/pgd10/0.01/acc",
                   "test/transfer-fgsm/0.03/acc",
                   "train/seconds"};
  std::vector<std::string> headers, metrics;
  for (const auto& c : attack_columns(table)) {
    headers.push_back(c.header);
    metrics.push_back(c.metric);
  }
  EXPECT_EQ(headers, (std::vector<std::string>{"FGSM 0.03", "FGSM 0.1", "PGD-10 0.01", "PGD-10 0.03",
                                               "transfer 0.03", "transfer 0.1"}));
  EXPECT_EQ(metrics[2], "test/pgd10/0.01/acc");
}

// A hand-made report over three methods (fp32 reference, r2q, dorefa), two seeds each, one failed run.
Report sample_report(const ReportOptions& options = {}) {
  std::vector<RunResult> runs = {result("fp32", 0, 0.90, 0.5),   result("fp32", 1, 0.92, 0.7),
                                 result("r2q", 0, 0.88, 0.6),    result("r2q", 1, 0.90, 0.6),
                                 result("dorefa", 0, 0.86, 0.3), result("dorefa", 1, 0, 0, false)};
  Report report;
  report.bootstrap = options.bootstrap;
  report.tables.push_back(make_table(aggregate("e", runs), options));
  report.footer.store_path = "runs/r2q.db";
  report.footer.store_hash = results_hash(runs);
  report.footer.seeds = {0, 1};
  report.footer.commits = {"0123456789ab"};
  report.footer.versions = {{"libtorch", "1.13.0"}, {"r2q", "0.1.0"}};
  report.footer.cpus = {"Test CPU"};
  report.footer.math = {"portable, CPU avx512, LibTorch avx2, oneDNN avx2"};
  report.footer.generated_by = "r2q test";
  return report;
}

TEST(Report, DeltaAgainstFp32AndBestOfEachColumn) {
  const auto report = sample_report();
  const auto& t = report.tables[0];
  ASSERT_EQ(t.columns.size(), 3u);  // clean acc, FGSM 0.03, train time
  EXPECT_EQ(t.columns[0].header, "clean acc");
  EXPECT_EQ(t.columns[1].header, "FGSM 0.03");
  EXPECT_FALSE(t.columns[2].higher_is_better);
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_TRUE(t.rows[0].reference);
  EXPECT_FALSE(t.rows[0].cells[0].delta);
  EXPECT_NEAR(*t.rows[1].cells[0].delta, 0.89 - 0.91, 1e-12);
  EXPECT_NEAR(*t.rows[2].cells[1].delta, 0.3 - 0.6, 1e-12);
  // Best among the quantized rows (the FP32 row is the reference, not a competitor).
  EXPECT_FALSE(t.rows[0].cells[0].best);
  EXPECT_TRUE(t.rows[1].cells[0].best);
  EXPECT_FALSE(t.rows[2].cells[0].best);
  EXPECT_TRUE(t.rows[1].cells[1].best);
  // Equal train times: both best.
  EXPECT_TRUE(t.rows[1].cells[2].best && t.rows[2].cells[2].best);
}

TEST(Report, BootstrapIntervalBracketsTheMeanAndIsReproducible) {
  ReportOptions options;
  options.bootstrap = true;
  const auto a = sample_report(options), b = sample_report(options);
  const Cell& cell = a.tables[0].rows[0].cells[0];  // fp32 clean: 0.90, 0.92
  ASSERT_TRUE(cell.ci_low && cell.ci_high);
  EXPECT_GE(*cell.ci_low, 0.90 - 1e-12);
  EXPECT_LE(*cell.ci_high, 0.92 + 1e-12);
  EXPECT_LE(*cell.ci_low, cell.stat.mean);
  EXPECT_GE(*cell.ci_high, cell.stat.mean);
  EXPECT_EQ(*cell.ci_low, *b.tables[0].rows[0].cells[0].ci_low);
  EXPECT_FALSE(a.tables[0].rows[2].cells[0].ci_low);  // one finished seed: no interval
}

TEST(Report, WhereFiltersAndMetricSelection) {
  json config = {{"quant", {{"method", "r2q"}, {"weight_bits", 2}}}, {"seed", 1}};
  EXPECT_TRUE(matches(config, {parse_where("quant.method=r2q")}));
  EXPECT_TRUE(matches(config, {parse_where("quant.weight_bits=2"), parse_where("seed=1.0")}));
  EXPECT_FALSE(matches(config, {parse_where("quant.method=lsq")}));
  EXPECT_FALSE(matches(config, {Where{"quant.missing", 1}}));
  EXPECT_THROW(parse_where("quant.method"), InputError);
  // A path no run config has is a typo, named with the closest field (issue 20), not "no runs match".
  try {
    parse_where("quant.methd=fp32");
    FAIL() << "accepted an unknown field";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("\"quant.methd\" is not a run config field (did you mean "
                                         "\"quant.method\"?)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(parse_where("quant={\"method\": \"r2q\"}"));  // a whole object of the schema
  // A number JSON cannot hold (out_of_range while parsing) is taken as text, like any non-JSON value.
  EXPECT_EQ(parse_where("loss.kd=1e999").value, "1e999");

  std::vector<RunResult> runs = {result("fp32", 0, 0.9, 0.5)};
  auto table = aggregate("e", runs);
  auto columns = select_columns(table, {"test/fgsm/*", "clean acc"});
  ASSERT_EQ(columns.size(), 3u);  // test/fgsm/0.03/acc, test/fgsm/0/acc, test/acc
  EXPECT_EQ(columns[0].metric, "test/fgsm/0.03/acc");
  EXPECT_EQ(columns[2].metric, "test/acc");
  EXPECT_THROW(select_columns(table, {"test/pgd*"}), InputError);
}

TEST(Report, ResultsHashDependsOnResultsOnly) {
  std::vector<RunResult> a = {result("fp32", 0, 0.9, 0.5), result("r2q", 0, 0.8, 0.4)};
  std::vector<RunResult> b = {a[1], a[0]};
  b[0].git_commit = "another";
  EXPECT_EQ(results_hash(a), results_hash(b));
  b[0].metrics["train/seconds"] = 99;  // timings are not results
  EXPECT_EQ(results_hash(a), results_hash(b));
  b[0].metrics["test/acc"] = 0.8000001;
  EXPECT_NE(results_hash(a), results_hash(b));
}

// Each text format against its golden file (tests/fixtures/reports/). R2Q_UPDATE_GOLDEN=1 rewrites them;
// review the diff before committing.
class Formats : public ::testing::TestWithParam<std::string> {};

TEST_P(Formats, MatchGoldenFile) {
  const std::string format = GetParam();
  const auto path = std::filesystem::path(R2Q_FIXTURES) / "reports" / ("sample." + format);
  std::ostringstream out;
  write_report(out, sample_report(), format);
  if (std::getenv("R2Q_UPDATE_GOLDEN")) {
    std::ofstream(path, std::ios::binary) << out.str();
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path << " missing (R2Q_UPDATE_GOLDEN=1 writes it)";
  const std::string golden((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(out.str(), golden) << "format " << format;
}

INSTANTIATE_TEST_SUITE_P(Report, Formats, ::testing::Values("markdown", "csv", "json", "latex"));

TEST(Latex, CompilesWhereATexEngineIsInstalled) {
  if (std::system("command -v pdflatex >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "pdflatex not installed (apt-get install texlive-latex-base texlive-latex-recommended)";
  testing::TempDir dir;
  std::ostringstream table;
  write_latex(table, sample_report());
  dir.write("table.tex", table.str());
  dir.write("doc.tex",
            "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
            "\\input{table}\n\\end{document}\n");
  const std::string cmd = "cd " + dir.path().string() +
                          " && pdflatex -interaction=nonstopmode -halt-on-error doc.tex >log.txt 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << testing::read_text(dir / "log.txt");
}

// verify: a report passes against itself, fails on a perturbed golden and on missing configurations.
TEST(Verify, PassesOnItselfFailsOnDriftAndMissingRows) {
  const auto rows = result_rows(sample_report());
  Tolerances tol;
  auto same = verify(rows, rows, tol);
  EXPECT_TRUE(same.ok());
  EXPECT_EQ(same.rows, 3);
  EXPECT_EQ(same.compared, 6);  // clean and FGSM of 3 rows; train time has no tolerance, so is not compared

  auto drifted = rows;
  drifted[1].metrics["test/acc"] += 0.004;  // 0.4 points: within the default 0.5
  EXPECT_TRUE(verify(drifted, rows, tol).ok());
  drifted[1].metrics["test/acc"] += 0.002;  // 0.6 points
  auto result = verify(drifted, rows, tol);
  ASSERT_EQ(result.drifts.size(), 1u);
  EXPECT_EQ(result.drifts[0].metric, "test/acc");
  EXPECT_EQ(result.drifts[0].problem, "drift");
  EXPECT_NE(drift_table(result).find("quant.method=r2q"), std::string::npos) << drift_table(result);
  tol.per_metric["test/acc"] = 1.0;
  EXPECT_TRUE(verify(drifted, rows, tol).ok());

  auto fewer = rows;
  fewer.pop_back();
  auto missing = verify(rows, fewer, Tolerances{});
  ASSERT_EQ(missing.drifts.size(), 1u);
  EXPECT_EQ(missing.drifts[0].problem, "missing configuration");
  auto unfinished = rows;
  unfinished[0].finished = 1;
  EXPECT_EQ(verify(rows, unfinished, Tolerances{}).drifts.at(0).problem, "missing runs (1 of 2 finished)");
}

TEST(Verify, ReadsReportJsonAsGolden) {
  testing::TempDir dir;
  std::ostringstream json_text;
  write_json(json_text, sample_report());
  auto path = dir.write("golden.json", json_text.str());
  const auto golden = load_golden(path);
  const auto current = result_rows(sample_report());
  ASSERT_EQ(golden.size(), current.size());
  EXPECT_TRUE(verify(golden, current, Tolerances{}).ok());
  const GoldenFile file = load_golden_file(path);  // with its origin and the spread over seeds
  EXPECT_EQ(file.footer.math, sample_report().footer.math);
  EXPECT_EQ(file.footer.cpus, sample_report().footer.cpus);
  EXPECT_EQ(file.rows.at(0).stats.at("test/acc").n, 2);
  EXPECT_NEAR(file.rows.at(0).stats.at("test/acc").std, 0.0141421, 1e-6);
  EXPECT_THROW(load_golden(dir.write("bad.json", "{\"schema\": \"other\"}")), InputError);
  EXPECT_THROW(load_golden(dir.write("text.txt", "not json")), InputError);
}

// verify --mode stats (issue 21): a mean may move by k standard errors of the difference; fewer seeds than
// the minimum on either side is reported, not passed.
TEST(Verify, StatsModeComparesMeansWithinKStandardErrors) {
  ResultRow golden{"e", {{"quant", {{"method", "r2q"}}}}, "quant.method=r2q", 3, {}, {{"test/acc", "%"}}, {}};
  golden.metrics["test/acc"] = 0.60;
  golden.stats["test/acc"] = {0.60, 0.03, 3};  // se 0.0173
  ResultRow current = golden;
  StatsOptions options;  // k = 3, min_seeds = 3
  // sqrt(2) * 0.0173 = 0.0245 standard error of the difference; 3 of them = 0.0735.
  current.stats["test/acc"] = {0.67, 0.03, 3};
  auto within = verify_stats({golden}, {current}, Tolerances{}, options);
  EXPECT_TRUE(within.ok()) << drift_table(within);
  EXPECT_EQ(within.compared, 1);
  current.stats["test/acc"] = {0.50, 0.03, 3};  // 0.10 lower: 4.1 standard errors
  auto shifted = verify_stats({golden}, {current}, Tolerances{}, options);
  ASSERT_EQ(shifted.drifts.size(), 1u);
  EXPECT_EQ(shifted.drifts[0].problem, "shift: the current mean is lower by 4.1 standard errors");
  options.k = 5;
  EXPECT_TRUE(verify_stats({golden}, {current}, Tolerances{}, options).ok());
  // A change far beyond any tolerance-mode threshold passes when the seeds scatter that much.
  current.stats["test/acc"] = {0.50, 0.20, 4};
  EXPECT_TRUE(verify_stats({golden}, {current}, Tolerances{}, StatsOptions{}).ok());

  current.stats["test/acc"] = {0.60, 0.0, 1};
  auto few = verify_stats({golden}, {current}, Tolerances{}, StatsOptions{});
  ASSERT_EQ(few.drifts.size(), 1u);
  EXPECT_EQ(few.drifts[0].problem.rfind("too few seeds (golden 3, current 1", 0), 0u)
      << few.drifts[0].problem;
  EXPECT_EQ(few.compared, 0);
  EXPECT_EQ(verify_stats({golden}, {}, Tolerances{}, StatsOptions{}).drifts.at(0).problem,
            "missing configuration");
}

// Goldens know where they came from (issue 21): verify names the difference in math or library versions.
TEST(Verify, OriginDifferencesNameTheMathAndTheLibraries) {
  Footer golden, current;
  golden.math = current.math = {"portable, CPU avx2, LibTorch avx2, oneDNN avx2"};
  golden.versions = current.versions = {{"libtorch", "1.13.0"}, {"onednn", "2.6.3"}};
  EXPECT_TRUE(origin_differences(golden, current).empty());
  current.math = {"native, CPU avx512, LibTorch avx2, oneDNN avx512_core_bf16"};
  current.versions["libtorch"] = "2.1.0";
  const auto notes = origin_differences(golden, current);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("golden made with portable, CPU avx2"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("this store: native, CPU avx512"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("--math portable"), std::string::npos) << notes[0];
  EXPECT_NE(notes[1].find("libtorch 1.13.0 made the golden results, 2.1.0"), std::string::npos) << notes[1];
  golden.math.clear();  // a golden file from before r2q recorded the math
  current.versions = golden.versions;
  const auto unrecorded = origin_differences(golden, current);
  ASSERT_EQ(unrecorded.size(), 1u);
  EXPECT_NE(unrecorded[0].find("do not record their math"), std::string::npos) << unrecorded[0];
}

// Issue 22, found by CI's fuzzing: on this damaged store the metrics pass, which runs on a second thread,
// fails; its error arrives here as bad input naming the store (it escaped as std::runtime_error and
// terminated the fuzzer).
TEST(Collect, ADamagedStoreIsBadInputFromEveryThread) {
  testing::TempDir dir;
  const auto path = dir / "nomem.db";
  std::filesystem::copy_file(R2Q_FIXTURES "/../../fuzz/regressions/store/store-nomem.db", path);
  store::Store store(path, store::Store::Mode::ReadOnly);
  try {
    collect(store, {});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace r2q::reports
