// Aggregation over seeds and the markdown table, on hand-made results.
#include <gtest/gtest.h>

#include <sstream>

#include "reports/aggregate.h"
#include "reports/markdown.h"

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

TEST(Markdown, OneRowPerConfigWithMeanAndStd) {
  auto table = aggregate("e", {result("fp32", 0, 0.90, 0.5), result("fp32", 1, 0.92, 0.7),
                               result("r2q", 0, 0.80, 0.4), result("r2q", 1, 0, 0, false)});
  std::ostringstream out;
  write_markdown(out, table, {"runs/r2q.db"});
  EXPECT_EQ(out.str(),
            "## e\n\n"
            "| quant.method | seeds | clean acc (%) | FGSM 0.03 (%) | train time (s) |\n"
            "|---|---:|---:|---:|---:|\n"
            "| fp32 | 2 | 91.00 ± 1.41 | 60.00 ± 14.14 | 10 |\n"
            "| r2q | 1/2 | 80.00 | 40.00 | 10 |\n"
            "\n3 of 4 runs finished, 1 failed. Mean ± sample std over seeds; accuracies in percent on the "
            "test set. "
            "Code: 0123456789ab. Store: runs/r2q.db.\n");
}

}  // namespace
}  // namespace r2q::reports
