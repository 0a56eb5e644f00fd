// Security properties of the command line (issue 8, docs/RELIABILITY.md): user strings never reach a shell,
// and the files r2q creates (store, checkpoints, exported models, reports, their directories) have the
// permissions the user's umask gives, no more and no less.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using nlohmann::json;
using testing::TempDir;

const std::string kR2q = R2Q_BINARY;

std::string spec_text(const std::string& name) {
  json base = json::parse(R"({"dataset": {"name": "synthetic", "val_size": 50, "train_limit": 128,
      "test_limit": 64}, "model": {"name": "lenet"}, "quant": {"method": "fp32"},
      "train": {"epochs": 1, "batch_size": 32, "lr": 0.05}, "eval": {"fgsm_eps": [0]}, "threads": 1})");
  return json{{"name", name}, {"base", base}, {"grid", {{"seed", {0, 1}}}}}.dump(2);
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 07777;
  return st.st_mode & 07777;
}

// File and directory names full of shell syntax are passed as arguments, through -j's worker processes too:
// nothing is executed and the names are used as they are.
TEST(Security, ShellSyntaxInNamesIsNeverExecuted) {
  TempDir dir;
  const std::string odd = "a'b\"c $(touch INJECTED) `touch INJECTED`; touch INJECTED & |x";
  const auto spec = dir.write(odd + ".json", spec_text("odd"));
  const auto db = dir / (odd + "-dir") / (odd + ".db");
  auto r = testing::run_process({kR2q, "sweep", spec.string(), "--db", db.string(), "-j", "2"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(db));
  auto status = testing::run_process({kR2q, "status", "--db", db.string()}, dir.path());
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "INJECTED"));
  EXPECT_FALSE(std::filesystem::exists("INJECTED"));
}

// Under umask 022, 027 and 002, every file r2q creates is 0666 & ~umask and every directory 0777 & ~umask.
TEST(Security, CreatedFilesFollowTheUmask) {
  for (mode_t mask : {mode_t{022}, mode_t{027}, mode_t{002}}) {
    SCOPED_TRACE("umask 0" + std::to_string(mask >> 6 & 7) + std::to_string(mask >> 3 & 7) +
                 std::to_string(mask & 7));
    TempDir dir;
    testing::SpawnOptions options;
    options.umask = mask;
    const auto db = dir / "runs/r2q.db";
    auto sweep = testing::run_process(
        {kR2q, "sweep", dir.write("modes.json", spec_text("modes")).string(), "--db", db.string()},
        dir.path(), options);
    ASSERT_EQ(sweep.exit_code, 0) << sweep.err;
    std::vector<std::filesystem::path> files = {db}, dirs = {dir / "runs", dir / "runs/r2q.db.checkpoints"};
    std::string key;
    for (const auto& entry : std::filesystem::directory_iterator(dir / "runs/r2q.db.checkpoints")) {
      files.push_back(entry.path());
      key = entry.path().stem().string();
    }
    EXPECT_EQ(files.size(), 3u);
    const auto model = dir / "out/model.r2q";
    std::filesystem::create_directories(model.parent_path());
    auto exported = testing::run_process({kR2q, "export", key, "-o", model.string(), "--db", db.string()},
                                         dir.path(), options);
    EXPECT_EQ(exported.exit_code, 0) << exported.err;
    const auto report = dir / "out/report.md";
    auto reported = testing::run_process({kR2q, "report", "--db", db.string(), "-o", report.string()},
                                         dir.path(), options);
    EXPECT_EQ(reported.exit_code, 0) << reported.err;
    files.push_back(model);
    files.push_back(report);
    for (const auto& f : files) EXPECT_EQ(mode_of(f), 0666 & ~mask) << f;
    for (const auto& d : dirs) EXPECT_EQ(mode_of(d), 0777 & ~mask) << d;
  }
}

}  // namespace
}  // namespace r2q
