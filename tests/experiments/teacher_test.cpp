// Teachers and the loss terms end to end on synthetic data: two students share one teacher run in the store,
// every term trains and reports, and a run with critics resumes exactly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/spec/spec.h"
#include "core/store/checkpoints.h"
#include "core/util/error.h"
#include "experiments/execute.h"
#include "experiments/sweep.h"
#include "tests/support/temp_dir.h"

namespace r2q::sweep {
namespace {

using nlohmann::json;

const char* kSpec = R"({"name": "students",
  "base": {"dataset": {"name": "synthetic", "val_size": 0, "train_limit": 600, "test_limit": 200},
           "model": {"name": "lenet"}, "quant": {"method": "r2q"},
           "train": {"epochs": 1, "batch_size": 32, "lr": 0.05},
           "eval": {"fgsm_eps": [0, 0.05], "pgd": {"eps": [0.05], "steps": 3}, "transfer": true}, "threads": 2},
  "grid": {"loss.kd": [1]},
  "include": [{"loss.structural": 1, "loss.structural_angle": 1, "loss.adversarial": 0.1, "loss.n_critic": 2,
               "loss.perturbation": 0.1, "loss.train_eps": 0.03, "loss.spectral": 0.001}]})";

struct Quiet : SweepObserver {
  std::vector<std::string> ended;
  void on_run_end(const spec::RunSpec& run, store::RunStatus status, const std::string& message,
                  const std::map<std::string, double>&) override {
    ended.push_back(run.key.substr(0, 12) + " " + store::to_string(status) + " " + message);
  }
};

TEST(Teacher, TwoStudentsShareOneTeacherRunAndEveryTermReports) {
  testing::TempDir dir;
  auto exp = spec::parse_experiment(kSpec, "students.json");
  ASSERT_EQ(exp.runs.size(), 3u);
  ASSERT_TRUE(exp.runs[0].is_teacher);
  store::Store store(dir / "r2q.db", store::Store::Mode::ReadWrite);
  Quiet observer;
  auto summary = run_sweep(store, exp, {}, observer);
  ASSERT_EQ(summary.succeeded, 3) << ::testing::PrintToString(observer.ended);

  const auto& teacher = exp.runs[0];
  for (int i : {1, 2}) {
    const auto& student = exp.runs[static_cast<size_t>(i)];
    EXPECT_EQ(student.teacher_key, teacher.key);
    auto record = store.run(student.key);
    EXPECT_EQ(record->environment["teacher"]["run_key"], teacher.key);
    EXPECT_NE(record->environment["attacks"]["test/transfer-fgsm"].get<std::string>().find(teacher.key),
              std::string::npos);
    auto finals = store.final_metrics(student.key);
    EXPECT_TRUE(finals.contains("test/pgd3/0.05/acc"));
    EXPECT_TRUE(finals.contains("test/transfer-fgsm/0.05/acc"));
  }
  // The second student had every term on: each reported its per-epoch value.
  std::set<std::string> names;
  for (const auto& m : store.metrics(exp.runs[2].key)) names.insert(m.name);
  for (const char* term : {"ce", "structural", "adversarial", "perturbation", "spectral"})
    EXPECT_TRUE(names.contains(std::string("train/loss/") + term)) << term;

  // Running the sweep again runs nothing; a third student of the same teacher reuses it.
  auto again = run_sweep(store, exp, {}, observer);
  EXPECT_EQ(again.already_finished, 3);
  auto more = spec::parse_experiment(
      R"({"name": "more", "base": )" + exp.spec["base"].dump() + R"(, "grid": {"loss.kd": [2]}})",
      "more.json");
  ASSERT_EQ(more.runs.size(), 2u);
  auto third = run_sweep(store, more, {}, observer);
  EXPECT_EQ(third.already_finished, 1);  // the teacher
  EXPECT_EQ(third.succeeded, 1);
}

TEST(Teacher, StudentWithCriticsResumesExactly) {
  testing::TempDir dir;
  auto exp = spec::parse_experiment(kSpec, "students.json");
  store::Store store(dir / "r2q.db", store::Store::Mode::ReadWrite);
  Quiet observer;
  spec::Experiment teacher_only = exp;
  teacher_only.runs = {exp.runs[0]};
  ASSERT_EQ(run_sweep(store, teacher_only, {}, observer).succeeded, 1);
  const auto teacher_checkpoint = store::checkpoint_path(store, exp.runs[0].key);

  json config = exp.runs[2].config;
  config["train"]["epochs"] = 2;
  auto student = spec::finish(config, exp.runs[2].execution);
  struct Hooks : RunHooks {
    std::atomic<bool> stop{false};
    int stop_after = 0;
    std::vector<std::vector<store::Metric>> epochs;
    void epoch_done(int, const std::vector<store::Metric>& m) override { epochs.push_back(m); }
    void checkpoint_saved(const std::filesystem::path&, int epoch) override { stop = epoch == stop_after; }
    void environment(const json&) override {}
  };
  auto tests_only = [](const std::vector<store::Metric>& metrics) {
    std::map<std::string, double> out;
    for (const auto& m : metrics)
      if (m.name.starts_with("test/")) out[m.name] = m.value;
    return out;
  };
  Hooks whole;
  auto a = tests_only(execute_run(student, {dir / "a.pt", nullptr, nullptr, &whole, teacher_checkpoint}));
  Hooks first, second;
  first.stop_after = 1;
  EXPECT_THROW(execute_run(student, {dir / "b.pt", &first.stop, nullptr, &first, teacher_checkpoint}),
               Interrupted);
  auto b =
      tests_only(execute_run(student, {dir / "b.pt", &second.stop, nullptr, &second, teacher_checkpoint}));
  EXPECT_EQ(a, b);
  ASSERT_EQ(second.epochs.size(), 1u);
  EXPECT_EQ(second.epochs[0][0].value, whole.epochs[1][0].value);  // train/loss of epoch 2

  // Without its teacher the student cannot run.
  EXPECT_THROW(execute_run(student, {dir / "c.pt", nullptr, nullptr, &second}), RunError);
}

}  // namespace
}  // namespace r2q::sweep
