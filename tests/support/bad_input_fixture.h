// The fixture of the CLI's bad-input tests (bad_input_test.cpp, data_safety_test.cpp): a store holding one
// finished run, copied for each test, and checks that a refused command said so in one error line and left
// that store as it was.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/store_checks.h"
#include "tests/support/temp_dir.h"

namespace r2q {

inline const std::string kR2q = R2Q_BINARY;

// A small synthetic-data spec; `base_patch` is merged into its base (JSON merge patch).
inline std::string spec_text(const std::string& name, const std::string& base_patch = "{}") {
  nlohmann::json base =
      nlohmann::json::parse(R"({"dataset": {"name": "synthetic", "val_size": 100, "train_limit": 300,
      "test_limit": 200}, "model": {"name": "lenet"}, "quant": {"method": "fp32"},
      "train": {"epochs": 1, "batch_size": 32, "lr": 0.05}, "eval": {"fgsm_eps": [0]}, "threads": 1})");
  base.merge_patch(nlohmann::json::parse(base_patch));
  return nlohmann::json{{"name", name}, {"base", base}}.dump(2);
}

inline int error_lines(const std::string& text) {
  int n = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    n += text.substr(start, end - start).find("error") != std::string::npos;
    start = end + 1;
  }
  return n;
}

class BadInput : public ::testing::Test {
 protected:
  // One store with one finished run, made once; each test works on its own copy.
  static void SetUpTestSuite() {
    golden = new testing::TempDir;
    auto r = testing::run_process({kR2q, "sweep", golden->write("done.json", spec_text("done")).string(),
                                   "--db", (*golden / "r2q.db").string()},
                                  golden->path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete golden; }

  void SetUp() override {
    std::filesystem::create_directories(dir / "runs");
    std::filesystem::copy_file(*golden / "r2q.db", db());
    before = testing::finished_runs(db());
    ASSERT_EQ(before.size(), 1u);
  }

  std::filesystem::path db() const { return dir / "runs/r2q.db"; }
  std::string spec(const std::string& name, const std::string& base_patch = "{}") {
    return dir.write(name + ".json", spec_text(name, base_patch)).string();
  }
  testing::ProcessResult r2q(std::vector<std::string> args, const testing::SpawnOptions& options = {}) {
    args.insert(args.begin(), kR2q);
    return testing::run_process(args, dir.path(), options);
  }

  // The command exits with `code` and says what is wrong in one line, its only error line, which holds every
  // fragment (a sweep may have printed its plan before it).
  void expect_message(const std::vector<std::string>& args, int code,
                      std::initializer_list<std::string> fragments,
                      const testing::SpawnOptions& options = {}) {
    auto r = r2q(args, options);
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    EXPECT_EQ(r.exit_code, code) << "r2q" << shown << "\n" << r.err;
    EXPECT_EQ(error_lines(r.err), 1) << "r2q" << shown << ": not one error line:\n" << r.err;
    for (const auto& f : fragments)
      EXPECT_NE(r.err.find(f), std::string::npos) << "r2q" << shown << ": message lacks \"" << f << "\":\n"
                                                  << r.err;
  }
  // The same, and the store is as it was.
  void expect_refused(const std::vector<std::string>& args, int code,
                      std::initializer_list<std::string> fragments,
                      const testing::SpawnOptions& options = {}) {
    expect_message(args, code, fragments, options);
    expect_store_intact();
  }
  void expect_store_intact() {
    EXPECT_EQ(testing::integrity_check(db()), "ok");
    EXPECT_EQ(testing::finished_runs(db()), before);
  }

  static inline testing::TempDir* golden = nullptr;
  testing::TempDir dir;
  std::map<std::string, testing::FinishedRun> before;
};

}  // namespace r2q
