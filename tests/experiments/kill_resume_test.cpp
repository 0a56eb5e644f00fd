// Crash safety of sweeps: SIGKILL in the middle of a run, then a new sweep finishes the grid without
// re-running finished runs and resumes the killed run from its checkpoint, with the same final metrics as a
// sweep that was never interrupted. Ctrl-C (SIGINT) stops cleanly and the run resumes the same way.
#include <gtest/gtest.h>

#include <csignal>

#include "core/store/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using testing::TempDir;
using namespace std::chrono_literals;

const std::string kR2q = R2Q_BINARY;

// Two runs of several short epochs each on synthetic data.
std::string write_spec(const TempDir& dir) {
  return dir
      .write("kill.json", R"({"name": "kill", "base": {"dataset": {"name": "synthetic", "val_size": 100,
          "train_limit": 400, "test_limit": 200}, "model": {"name": "lenet"}, "quant": {"method": "fp32"},
          "train": {"epochs": 5, "batch_size": 16, "lr": 0.05}, "eval": {"fgsm_eps": [0, 0.1]}, "threads": 1},
          "grid": {"seed": [0, 1]}})")
      .string();
}

std::map<std::string, double> test_metrics(store::Store& s, const std::string& key) {
  std::map<std::string, double> out;
  for (const auto& [name, value] : s.final_metrics(key))
    if (name.rfind("test/", 0) == 0 || name == "train/loss" || name == "val/acc") out[name] = value;
  return out;
}

// Waits until the second run has checkpointed at least two epochs (the first run is then finished).
bool second_run_mid_training(const std::filesystem::path& db) {
  if (!std::filesystem::exists(db)) return false;
  try {
    store::Store s(db, store::Store::Mode::ReadOnly);
    auto runs = s.runs(std::string("kill"));
    return runs.size() == 2 && runs[0].status == store::RunStatus::Finished && runs[1].epoch >= 2;
  } catch (const std::exception&) {
    return false;  // the store is being created
  }
}

class KillResume : public ::testing::Test {
 protected:
  // The reference, shared by the tests: the same grid, never interrupted.
  static void SetUpTestSuite() {
    TempDir ref;
    auto r =
        testing::run_process({kR2q, "sweep", write_spec(ref), "--db", (ref / "r2q.db").string()}, ref.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    store::Store s(ref / "r2q.db", store::Store::Mode::ReadOnly);
    for (const auto& run : s.runs()) reference[run.key] = test_metrics(s, run.key);
  }
  void SetUp() override { spec = write_spec(dir); }

  void interrupt_then_resume(int sig, int expected_exit) {
    auto db = dir / "runs/r2q.db";
    {
      testing::Process sweep({kR2q, "sweep", spec, "--db", db.string()}, dir.path(), "first");
      ASSERT_TRUE(testing::wait_until([&] { return second_run_mid_training(db); }, 120s));
      sweep.signal(sig);
      auto killed = sweep.wait();
      EXPECT_EQ(killed.exit_code, expected_exit) << killed.err;
    }
    std::string first_key;
    double first_finished = 0;
    int killed_epoch = 0;
    {
      store::Store s(db, store::Store::Mode::ReadOnly);
      auto runs = s.runs(std::string("kill"));
      first_key = runs[0].key;
      first_finished = runs[0].finished.value();
      killed_epoch = runs[1].epoch;
      EXPECT_GE(killed_epoch, 2);
      EXPECT_EQ(runs[1].status, sig == SIGKILL ? store::RunStatus::Running : store::RunStatus::Pending);
      // Recorded relative to the store's directory.
      EXPECT_EQ(runs[1].checkpoint.value(), "r2q.db.checkpoints/" + runs[1].key + ".pt");
      EXPECT_TRUE(std::filesystem::exists(db.parent_path() / runs[1].checkpoint.value()));
    }
    auto resumed = testing::run_process({kR2q, "sweep", spec, "--db", db.string()}, dir.path());
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.err.find("1 already finished, 1 finished now"), std::string::npos) << resumed.err;
    EXPECT_NE(resumed.err.find("resuming from the checkpoint of epoch"), std::string::npos) << resumed.err;

    store::Store s(db, store::Store::Mode::ReadOnly);
    auto runs = s.runs(std::string("kill"));
    EXPECT_EQ(runs[0].attempt, 1);  // the finished run was not re-run
    EXPECT_EQ(runs[0].finished.value(), first_finished);
    EXPECT_EQ(runs[1].attempt, 2);
    for (const auto& run : runs) {
      EXPECT_EQ(run.status, store::RunStatus::Finished);
      EXPECT_EQ(test_metrics(s, run.key), reference.at(run.key)) << run.key;
    }
    // The resumed attempt trained only the epochs after the checkpoint: earlier epochs' metrics are from
    // attempt 1.
    int epochs_logged = 0;
    for (const auto& m : s.metrics(runs[1].key)) epochs_logged += m.name == "train/loss";
    EXPECT_EQ(epochs_logged, 5);
  }

  TempDir dir;
  std::string spec;
  static inline std::map<std::string, std::map<std::string, double>> reference;
};

TEST_F(KillResume, SigkillMidRunLosesNothing) {
  interrupt_then_resume(SIGKILL, 128 + SIGKILL);
}

TEST_F(KillResume, CtrlCStopsCleanlyAndResumes) {
  interrupt_then_resume(SIGINT, 130);
}

// A worker on another machine cannot be asked whether its process lives: its run is left alone while its
// heartbeat is fresh and reclaimed (and resumed from its checkpoint) once the heartbeat is older than
// --stale-after.
TEST_F(KillResume, RunOfAWorkerElsewhereIsReclaimedWhenItsHeartbeatIsStale) {
  auto db = dir / "runs/r2q.db";
  {
    testing::Process sweep({kR2q, "sweep", spec, "--db", db.string()}, dir.path(), "first");
    ASSERT_TRUE(testing::wait_until([&] { return second_run_mid_training(db); }, 120s));
    sweep.signal(SIGKILL);
    sweep.wait();
  }
  // The dead worker now looks like one on another host.
  auto moved = testing::run_process(
      {"/usr/bin/env", "sqlite3", db.string(), "UPDATE runs SET host = 'elsewhere' WHERE status = 'running'"},
      dir.path());
  ASSERT_EQ(moved.exit_code, 0) << moved.err;

  auto fresh =
      testing::run_process({kR2q, "sweep", spec, "--db", db.string(), "--stale-after", "3600"}, dir.path());
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_NE(fresh.err.find("1 running elsewhere"), std::string::npos) << fresh.err;

  std::this_thread::sleep_for(1500ms);
  auto stale =
      testing::run_process({kR2q, "sweep", spec, "--db", db.string(), "--stale-after", "1"}, dir.path());
  ASSERT_EQ(stale.exit_code, 0) << stale.err;
  EXPECT_NE(stale.err.find("resuming from the checkpoint of epoch"), std::string::npos) << stale.err;
  store::Store s(db, store::Store::Mode::ReadOnly);
  auto runs = s.runs(std::string("kill"));
  EXPECT_EQ(runs[1].attempt, 2);
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, store::RunStatus::Finished);
    EXPECT_EQ(test_metrics(s, run.key), reference.at(run.key)) << run.key;
  }
}

}  // namespace
}  // namespace r2q
