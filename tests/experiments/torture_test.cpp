// Kill-and-resume torture (issue 8): `r2q sweep` SIGKILLed at random moments of a small grid and restarted
// each time, then finished by an uninterrupted sweep. After every kill the store passes SQLite's integrity
// and foreign-key checks and no finished run was lost or touched again; at the end every run finished, the
// finished runs were never re-run, and every computed metric (each epoch's curve points and the final
// values) equals that of a sweep that was never interrupted. The kill moments come from a seeded generator
// (R2Q_TORTURE_SEED overrides it) and are spread over the work that is left, so that they land in start-up,
// training, checkpoint writes, store commits and evaluation.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <random>

#include "core/util/error.h"
#include "tests/support/process.h"
#include "tests/support/store_checks.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using testing::TempDir;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kR2q = R2Q_BINARY;
constexpr int kEpochs = 4;

// `runs` runs (seeds 0, 1, ...) of four short epochs on synthetic data, one thread: deterministic, so a
// resumed run must end exactly where an uninterrupted one does.
std::string write_spec(const TempDir& dir, int runs) {
  std::string seeds;
  for (int i = 0; i < runs; ++i) seeds += (i ? ", " : "") + std::to_string(i);
  return dir
      .write("torture.json", R"({"name": "torture", "base": {"dataset": {"name": "synthetic", "val_size": 100,
          "train_limit": 320, "test_limit": 160}, "model": {"name": "lenet"}, "quant": {"method": "r2q"},
          "train": {"epochs": 4, "batch_size": 32, "lr": 0.2}, "eval": {"fgsm_eps": [0, 0.1]}, "threads": 1},
          "grid": {"seed": [)" + seeds +
                                 "]}}")
      .string();
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Where a kill landed, from the last line the killed sweep printed.
std::string landing(const std::string& err) {
  auto end = err.find_last_not_of('\n');
  if (end == std::string::npos) return "start-up (store, experiment)";
  auto start = err.find_last_of('\n', end);
  const std::string line = err.substr(start == std::string::npos ? 0 : start + 1);
  if (line.starts_with("r2q sweep:")) return "start-up (store, experiment)";
  if (line.starts_with("[")) return "run start (claim, data, model)";
  if (line.find("resuming") != std::string::npos) return "resume (checkpoint load)";
  if (line.find("epoch " + std::to_string(kEpochs) + "/") != std::string::npos) return "evaluation";
  if (line.find("epoch ") != std::string::npos) return "training, checkpoint, metrics";
  if (line.find("finished:") != std::string::npos || line.starts_with("sweep "))
    return "finish commit, next claim";
  return "end of sweep";
}

// Epochs not yet checkpointed, over the whole grid.
int epochs_left(const std::filesystem::path& db, int total_runs) {
  if (!std::filesystem::exists(db)) return total_runs * kEpochs;
  try {
    store::Store s(db, store::Store::Mode::ReadOnly);
    auto runs = s.runs(std::string("torture"));
    if (runs.size() != static_cast<size_t>(total_runs)) return total_runs * kEpochs;
    int left = 0;
    for (const auto& run : runs)
      if (run.status != store::RunStatus::Finished) left += kEpochs - run.epoch;
    return left;
  } catch (const Error&) {
    return total_runs * kEpochs;  // killed before the store was set up
  }
}

struct Reference {
  std::map<std::string, std::map<std::pair<std::string, std::int64_t>, double>> metrics;
  double seconds = 0;          // the whole uninterrupted sweep
  double startup_seconds = 0;  // a sweep with nothing left to do
};

Reference run_reference(int runs) {
  TempDir ref;
  Reference out;
  const auto db = (ref / "r2q.db").string();
  auto start = Clock::now();
  auto r = testing::run_process({kR2q, "sweep", write_spec(ref, runs), "--db", db}, ref.path());
  out.seconds = seconds_since(start);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  start = Clock::now();
  auto again = testing::run_process({kR2q, "sweep", write_spec(ref, runs), "--db", db}, ref.path());
  out.startup_seconds = seconds_since(start);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  store::Store s(db, store::Store::Mode::ReadOnly);
  for (const auto& run : s.runs()) out.metrics[run.key] = testing::computed_metrics(s, run.key);
  return out;
}

void torture(int kills) {
  // Enough runs that each kill's share of the work is more than an epoch: kills then make progress.
  const int runs = std::max(3, kills / 2);
  const Reference reference = run_reference(runs);
  ASSERT_EQ(reference.metrics.size(), static_cast<size_t>(runs));
  std::uint64_t seed = 20261128;
  if (const char* env = std::getenv("R2Q_TORTURE_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::mt19937_64 rng(seed);
  const double work_seconds = std::max(0.5, reference.seconds - reference.startup_seconds);
  std::cout << "reference sweep " << reference.seconds << " s (start-up " << reference.startup_seconds
            << " s); seed " << seed << "\n";

  TempDir dir;
  const auto spec = write_spec(dir, runs);
  const auto db = dir / "runs/r2q.db";
  std::map<std::string, testing::FinishedRun> finished;  // every run seen finished, as first seen
  int killed = 0, completed_before_kill = 0;
  std::map<std::string, int> landings;
  for (int trial = 0; killed < kills && trial < 3 * kills; ++trial) {
    // One kill in five within start-up (all of them once no work is left); the others within twice the even
    // share of the work left after it, so that the kills follow the sweep to its end.
    const int left = epochs_left(db, runs);
    const double share = work_seconds * left / (runs * kEpochs) / (kills - killed);
    const bool in_startup = std::uniform_int_distribution<int>(0, 4)(rng) == 0 || left == 0;
    const double delay =
        in_startup ? std::uniform_real_distribution<double>(0.0, reference.startup_seconds)(rng)
                   : reference.startup_seconds + std::uniform_real_distribution<double>(0.0, 2 * share)(rng);
    testing::Process sweep({kR2q, "sweep", spec, "--db", db.string()}, dir.path(), "trial");
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    const bool alive = sweep.running();
    if (alive) sweep.signal(SIGKILL);
    const auto result = sweep.wait();
    if (alive && result.exit_code == 128 + SIGKILL) {
      ++killed;
      ++landings[landing(result.err)];
      std::cout << "kill " << killed << " after " << delay << " s: " << landing(result.err) << "\n";
    } else {
      ++completed_before_kill;
      ASSERT_EQ(result.exit_code, 0) << result.err;
    }
    if (!std::filesystem::exists(db)) continue;
    ASSERT_EQ(testing::integrity_check(db), "ok") << "after kill " << killed;
    ASSERT_EQ(testing::pragma_rows(db, "foreign_key_check"), "") << "after kill " << killed;
    // A run once finished stays finished, untouched: same attempt, finish time and metric rows.
    auto now_finished = testing::finished_runs(db);
    for (const auto& [key, before] : finished) {
      ASSERT_TRUE(now_finished.count(key)) << "finished run " << key << " lost after kill " << killed;
      EXPECT_EQ(now_finished.at(key), before) << "finished run " << key << " changed after kill " << killed;
    }
    for (const auto& [key, run] : now_finished) finished.emplace(key, run);
  }
  EXPECT_EQ(killed, kills) << completed_before_kill << " sweeps completed before their kill";
  std::cout << killed << " kills survived, " << completed_before_kill << " sweeps completed before the kill; "
            << finished.size() << " of " << runs << " runs finished during the kills; kills landed in:";
  for (const auto& [where, n] : landings) std::cout << " " << where << " " << n << ";";
  std::cout << "\n";

  auto last = testing::run_process({kR2q, "sweep", spec, "--db", db.string()}, dir.path());
  ASSERT_EQ(last.exit_code, 0) << last.err;
  ASSERT_EQ(testing::integrity_check(db), "ok");
  for (const auto& [key, before] : finished) EXPECT_EQ(testing::finished_runs(db).at(key), before) << key;
  store::Store s(db, store::Store::Mode::ReadOnly);
  auto records = s.runs(std::string("torture"));
  ASSERT_EQ(records.size(), static_cast<size_t>(runs));
  for (const auto& run : records) {
    EXPECT_EQ(run.status, store::RunStatus::Finished) << run.key;
    // Every epoch's loss once, every metric equal to the uninterrupted sweep's.
    auto metrics = testing::computed_metrics(s, run.key);
    int losses = 0;
    for (const auto& [name_step, value] : metrics) losses += name_step.first == "train/loss";
    EXPECT_EQ(losses, kEpochs) << run.key;
    EXPECT_EQ(metrics, reference.metrics.at(run.key)) << run.key;
  }
}

TEST(Torture, FourRandomKills) {
  torture(4);
}

// Labelled slow (ctest -L slow): the issue's 20 kills.
TEST(Torture, TwentyRandomKills) {
  torture(20);
}

}  // namespace
}  // namespace r2q
