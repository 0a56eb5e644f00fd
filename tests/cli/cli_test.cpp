// The r2q command line end to end: exit codes and messages for bad usage and bad input, a sweep that skips
// finished runs on the second call, failed runs and --retry-failed, dry runs, list, status, report, run
// --set.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "core/deploy/model_file.h"
#include "core/store/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using nlohmann::json;
using testing::TempDir;

const std::string kR2q = R2Q_BINARY;

class Cli : public ::testing::Test {
 protected:
  testing::ProcessResult r2q(std::vector<std::string> args) {
    args.insert(args.begin(), kR2q);
    return testing::run_process(args, dir.path());
  }
  std::string db() const { return (dir / "runs/r2q.db").string(); }
  // A small synthetic-data spec; `base_patch` is merged into its base (JSON merge patch).
  std::string spec(const std::string& name, const std::string& base_patch = "{}",
                   const std::string& grid = "") {
    json base = json::parse(R"({"dataset": {"name": "synthetic", "val_size": 100, "train_limit": 300,
        "test_limit": 200}, "model": {"name": "lenet"}, "quant": {"method": "fp32"},
        "train": {"epochs": 1, "batch_size": 32, "lr": 0.05}, "eval": {"fgsm_eps": [0, 0.1]}, "threads": 1})");
    base.merge_patch(json::parse(base_patch));
    json text = {{"name", name}, {"base", base}};
    if (!grid.empty()) text["grid"] = json::parse(grid);
    return dir.write(name + ".json", text.dump(2)).string();
  }
  TempDir dir;
};

TEST_F(Cli, BadUsageExitsWithTwoAndSaysWhatIsWrong) {
  auto none = r2q({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("usage: r2q [--debug] [--math portable|native] <command>"), std::string::npos);
  auto typo = r2q({"swep"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("did you mean \"sweep\""), std::string::npos) << typo.err;
  auto no_spec = r2q({"sweep"});
  EXPECT_EQ(no_spec.exit_code, 2);
  EXPECT_NE(no_spec.err.find("spec"), std::string::npos) << no_spec.err;
  auto bad_flag = r2q({"sweep", "x.json", "--threads", "many"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_EQ(r2q({"sweep", "--help"}).exit_code, 0);
}

TEST_F(Cli, BadInputExitsWithTwoNamingTheFileFieldAndValue) {
  auto missing = r2q({"sweep", (dir / "nope.json").string(), "--db", db()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.json: no such file"), std::string::npos) << missing.err;
  auto bad = dir.write("bad.json", R"({"name": "bad", "base": {"train": {"lr": -1}}})");
  auto r = r2q({"sweep", bad.string(), "--db", db()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.json: base.train.lr: expected a number in (0, 100], got -1"), std::string::npos)
      << r.err;
  auto unrunnable = r2q({"sweep", spec("q", R"({"model": {"name": "vgg11"}})"), "--db", db()});
  EXPECT_EQ(unrunnable.exit_code, 2);
  EXPECT_NE(unrunnable.err.find("model.name: unknown model \"vgg11\""), std::string::npos) << unrunnable.err;
  auto no_store = r2q({"report", "--db", (dir / "none.db").string()});
  EXPECT_EQ(no_store.exit_code, 2);
  EXPECT_NE(no_store.err.find("no store here"), std::string::npos) << no_store.err;
}

TEST_F(Cli, SecondSweepSkipsFinishedRuns) {
  auto file = spec("grid", "{}", R"({"seed": [0, 1]})");
  auto first = r2q({"sweep", file, "--db", db()});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("2 finished now"), std::string::npos) << first.err;
  auto second = r2q({"sweep", file, "--db", db()});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("2 already finished, 0 finished now"), std::string::npos) << second.err;
  store::Store s(db(), store::Store::Mode::ReadOnly);
  for (const auto& run : s.runs(std::string("grid"))) {
    EXPECT_EQ(run.status, store::RunStatus::Finished);
    EXPECT_EQ(run.attempt, 1);  // never re-run
    EXPECT_TRUE(run.environment.contains("cpu"));
    EXPECT_EQ(run.environment["threads"], 1);
  }
  auto dry = r2q({"sweep", file, "--db", db(), "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0);
  EXPECT_NE(dry.out.find("finished: 2"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("seed=1"), std::string::npos) << dry.out;

  auto list = r2q({"list", "--db", db(), "--format", "json"});
  ASSERT_EQ(list.exit_code, 0);
  auto runs = json::parse(list.out);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["experiment"], "grid");
  EXPECT_EQ(runs[0]["status"], "finished");
  EXPECT_TRUE(runs[0]["metrics"].contains("test/acc"));
  EXPECT_TRUE(runs[0]["metrics"].contains("test/fgsm/0.1/acc"));
  EXPECT_EQ(runs[0]["config"]["model"]["name"], "lenet");

  auto report = r2q({"report", "--db", db()});
  ASSERT_EQ(report.exit_code, 0);
  EXPECT_NE(report.out.find("| seeds | clean acc (%) | FGSM 0.1 (%) | train time (s) |"), std::string::npos)
      << report.out;
  EXPECT_NE(report.out.find("| 2 |"), std::string::npos) << report.out;
  auto status = r2q({"status", "--db", db()});
  EXPECT_NE(status.out.find("grid"), std::string::npos);
}

TEST_F(Cli, DryRunOnANewSpecCreatesNothing) {
  auto dry = r2q({"sweep", spec("new", "{}", R"({"seed": [0, 1, 2]})"), "--db", db(), "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("new: 3"), std::string::npos) << dry.out;
  EXPECT_FALSE(std::filesystem::exists(db()));
}

TEST_F(Cli, FailedRunsAreSkippedUntilRetried) {
  auto file =
      spec("diverge", R"({"train": {"lr": 100, "schedule": "constant"}, "dataset": {"train_limit": 0}})");
  auto first = r2q({"sweep", file, "--db", db()});
  EXPECT_EQ(first.exit_code, 1);
  EXPECT_NE(first.err.find("failed: training diverged"), std::string::npos) << first.err;
  auto again = r2q({"sweep", file, "--db", db()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("--retry-failed"), std::string::npos) << again.err;
  auto status = r2q({"status", "--db", db()});
  EXPECT_NE(status.out.find("training diverged"), std::string::npos) << status.out;
  auto retry = r2q({"sweep", file, "--db", db(), "--retry-failed"});
  EXPECT_EQ(retry.exit_code, 1);
  store::Store s(db(), store::Store::Mode::ReadOnly);
  EXPECT_EQ(s.runs()[0].attempt, 2);
}

TEST_F(Cli, RunWithOverridesAddsToTheExperiment) {
  auto file = spec("single");
  auto r = r2q({"run", file, "--db", db(), "--set", "seed=5", "--set", "train.lr=0.02"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Store s(db(), store::Store::Mode::ReadOnly);
  auto runs = s.runs(std::string("single"));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].config["seed"], 5);
  EXPECT_EQ(runs[0].config["train"]["lr"], 0.02);
  EXPECT_EQ(r.out, runs[0].key + "\n");
  auto bad = r2q({"run", file, "--db", db(), "--set", "train.lr=-3"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--set train.lr: expected a number"), std::string::npos) << bad.err;
}

TEST_F(Cli, VersionReportsLibrariesAndCpu) {
  auto r = r2q({"version", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0);
  auto v = json::parse(r.out);
  EXPECT_EQ(v["libtorch"], "1.13.0");
  EXPECT_TRUE(v["cpu"].contains("isa"));
  EXPECT_TRUE(v["r2q"].contains("git_commit"));
}

TEST_F(Cli, BackendsListsEachBackendWithItsEnginesAndDevice) {
  auto text = r2q({"backends"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("cpu: available"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("shift-add"), std::string::npos) << text.out;
  auto j = r2q({"backends", "--format", "json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  json list = json::parse(j.out);
  ASSERT_TRUE(list.is_array() && !list.empty());
  EXPECT_EQ(list[0]["name"], "cpu");
  EXPECT_EQ(list[0]["available"], true);
  EXPECT_NE(std::find(list[0]["engines"].begin(), list[0]["engines"].end(), "onednn-int8"),
            list[0]["engines"].end());
  EXPECT_EQ(r2q({"backends", "--format", "yaml"}).exit_code, 2);
}

// Issue 18: "cuda" is listed with the reason it cannot run here; a plugin library on R2Q_BACKEND_PATH is a
// backend like the built-in one, for `r2q backends` and `r2q bench` alike.
TEST_F(Cli, PluginBackendsAreListedAndBenchmarked) {
  auto text = r2q({"backends"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("cuda: not available: its plugin library libr2q-backend-cuda.so is not installed"),
            std::string::npos)
      << text.out;
  ::setenv("R2Q_BACKEND_PATH", R2Q_TEST_PLUGIN_DIR, 1);
  auto listed = r2q({"backends"});
  auto bench =
      r2q({"bench", "--backend", "cpu-plugin", "--engines", "shift-add", "--arch", "lenet", "--batch", "1",
           "--threads", "1", "--min-time", "0.01", "--sample-ms", "0", "-f", "json"});
  ::unsetenv("R2Q_BACKEND_PATH");
  EXPECT_NE(listed.out.find("cpu-plugin: available"), std::string::npos) << listed.out;
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const json out = json::parse(bench.out);
  ASSERT_EQ(out["results"].size(), 1u);
  EXPECT_EQ(out["results"][0]["engine"].get<std::string>().rfind("shift-add", 0), 0u) << out.dump();
}

// `r2q` runs the store commands itself and hands the others to r2q-engine beside it; without the engine those
// fail with exit code 2 and say where it was expected, while the store commands still work.
TEST_F(Cli, CommandsThatNeedLibTorchRunInTheEngineBesideR2q) {
  const auto lone = dir / "bin" / "r2q";
  std::filesystem::create_directories(lone.parent_path());
  std::filesystem::copy_file(kR2q, lone);
  std::filesystem::permissions(lone, std::filesystem::perms::owner_all);
  auto sweep = testing::run_process({lone.string(), "sweep", spec("lone")}, dir.path());
  EXPECT_EQ(sweep.exit_code, 2);
  EXPECT_NE(sweep.err.find((dir / "bin" / "r2q-engine").string() + ", which is not installed"),
            std::string::npos)
      << sweep.err;
  auto help = testing::run_process({lone.string(), "report", "--help"}, dir.path());
  EXPECT_EQ(help.exit_code, 0) << help.err;
  // Through the real pair, an engine command keeps its arguments and exit code.
  auto version = r2q({"version", "--format", "json"});
  ASSERT_EQ(version.exit_code, 0) << version.err;
  EXPECT_TRUE(json::parse(version.out).contains("libtorch"));
}

TEST_F(Cli, EvalBackendDeploysTheTrainedModelAndIsCheckedBeforeTraining) {
  auto r = r2q(
      {"run", spec("deployed", R"({"quant": {"method": "r2q"}, "eval": {"backend": "cpu"}})"), "--db", db()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto list = r2q({"list", "--db", db(), "--format", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const json metrics = json::parse(list.out)[0]["metrics"];
  ASSERT_TRUE(metrics.contains("deploy/cpu/acc")) << metrics.dump();
  EXPECT_EQ(metrics["deploy/cpu/acc"], metrics["test/acc"]);
  EXPECT_EQ(metrics["deploy/cpu/agreement"], 1.0);
  EXPECT_GT(metrics["deploy/cpu/latency_us"].get<double>(), 0);

  auto unknown = r2q({"sweep", spec("tpu", R"({"eval": {"backend": "tpu"}})"), "--db", db()});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("eval.backend"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("cpu"), std::string::npos) << unknown.err;  // the known backends
  auto xnor = r2q(
      {"sweep",
       spec("xnor",
            R"({"quant": {"method": "xnor", "weight_bits": 1, "act_bits": 1}, "eval": {"backend": "cpu"}})"),
       "--db", db()});
  EXPECT_EQ(xnor.exit_code, 2);
  EXPECT_NE(xnor.err.find("cannot be deployed"), std::string::npos) << xnor.err;
}

TEST_F(Cli, BenchMeasuresEveryEngineSideBySide) {
  auto b = r2q(
      {"bench", "--arch", "lenet", "--batch", "1,2", "--threads", "1", "--min-time", "0.01", "-f", "json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const json out = json::parse(b.out);
  EXPECT_GT(out["model"]["macs_per_image"].get<double>(), 0);
  EXPECT_GT(out["cpu"]["clock_ghz"].get<double>(), 0);
  EXPECT_EQ(out["min_sample_ms"].get<double>(), 10);
  ASSERT_EQ(out["results"].size(), 8u) << out.dump(1);  // 4 engines x 2 batch sizes
  for (const auto& r : out["results"]) {
    EXPECT_GT(r["gmac_per_s"].get<double>(), 0) << r.dump();
    EXPECT_GT(r["percent_of_peak"].get<double>(), 0) << r.dump();
    // LeNet runs in far less than a 10 ms sample: several runs per sample.
    EXPECT_GT(r["calls_per_sample"].get<int>(), 1) << r.dump();
  }
  // Per-layer times at the first configuration: one entry per deployed layer, summing to about the total.
  const json& first = out["results"][1];
  ASSERT_TRUE(first.contains("layers")) << first.dump();
  EXPECT_EQ(first["layers"].size(), out["model"]["layers"].size());
  EXPECT_EQ(out["ratios"].size(), 6u);  // shift-add against 3 engines at 2 batch sizes
  EXPECT_GT(out["weight_ratio"].get<double>(), 1.0);

  auto text = r2q({"bench", "--arch", "lenet", "--batch", "1", "--threads", "1", "--min-time", "0.01",
                   "--sample-ms", "0", "--layers"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("shift-add speed-up"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("per layer"), std::string::npos) << text.out;

  // --sample-ms 0: one run per sample.
  auto single = r2q({"bench", "--arch", "lenet", "--engines", "shift-add", "--batch", "1", "--threads", "1",
                     "--min-time", "0.01", "--sample-ms", "0", "-f", "json"});
  ASSERT_EQ(single.exit_code, 0) << single.err;
  EXPECT_EQ(json::parse(single.out)["results"][0]["calls_per_sample"].get<int>(), 1) << single.out;

  for (const auto& [args, names] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"bench", "--batch", "0"}, "--batch"},
           {{"bench", "--threads", "two"}, "--threads"},
           {{"bench", "--engines", "warp-drive"}, "shift-add"},
           {{"bench", "--min-time", "0"}, "--min-time"},
           {{"bench", "--sample-ms", "-1"}, "--sample-ms"},
           {{"bench", "--arch", "alexnet"}, "resnet20"},
           {{"bench", "--model", (dir / "missing.r2q").string()}, "missing.r2q"}}) {
    auto bad = r2q(args);
    EXPECT_EQ(bad.exit_code, 2) << args[1] << ": " << bad.err;
    EXPECT_NE(bad.err.find(names), std::string::npos) << bad.err;
  }
}

TEST_F(Cli, ExportWritesAFinishedRunsModelAndExplainsWhatItCannotExport) {
  auto file = spec("exported", R"({"quant": {"method": "r2q"}})");
  auto r = r2q({"run", file, "--db", db()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string key = r.out.substr(0, r.out.size() - 1);
  const std::string out = (dir / "model.r2q").string();
  auto e = r2q({"export", key.substr(0, 8), "-o", out, "--db", db()});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("with integer accumulators"), std::string::npos) << e.out;
  deploy::Model model = deploy::read_model(out);
  EXPECT_EQ(model.metadata["run_key"], key);
  EXPECT_EQ(model.metadata["run_config"]["quant"]["method"], "r2q");
  EXPECT_TRUE(model.metadata.contains("test_acc"));
  EXPECT_TRUE(model.metadata.contains("r2q_version"));
  EXPECT_EQ(model.metadata["classes"], 10);

  // The exported file benchmarks on every engine, with the eager baseline of the architecture it names.
  auto b = r2q({"bench", "--model", out, "--batch", "1", "--threads", "1", "--min-time", "0.01",
                "--sample-ms", "0", "-f", "json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const json bench = json::parse(b.out);
  std::set<std::string> engines;
  for (const auto& result : bench["results"])
    engines.insert(result["engine"].get<std::string>().substr(0, 9));
  EXPECT_EQ(engines, (std::set<std::string>{"libtorch-", "onednn-fp", "onednn-in", "shift-add"})) << b.out;

  // A tampered file is refused with the reason, exit code 2.
  {
    std::string bytes;
    {
      std::ifstream in(out, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
    const std::string tampered = dir.write("tampered.r2q", bytes).string();
    auto t = r2q({"bench", "--model", tampered, "--batch", "1", "--threads", "1", "--min-time", "0.01",
                  "--sample-ms", "0"});
    EXPECT_EQ(t.exit_code, 2) << t.err;
    EXPECT_NE(t.err.find("tampered.r2q"), std::string::npos) << t.err;
    EXPECT_NE(t.err.find("checksum mismatch"), std::string::npos) << t.err;
  }

  auto unknown = r2q({"export", "ffffzzzz", "-o", out, "--db", db()});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no run with key \"ffffzzzz\""), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find(key.substr(0, 12)), std::string::npos) << unknown.err;
  {
    store::Store s(db(), store::Store::Mode::ReadWrite);
    const json config = s.runs()[0].config;
    s.add_experiment("waiting", json::object(), "<test>",
                     {{"0123456789abcdef", config}, {"0123fedcba987654", config}});
  }
  auto ambiguous = r2q({"export", "0123", "-o", out, "--db", db()});
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_NE(ambiguous.err.find("\"0123\" is ambiguous"), std::string::npos) << ambiguous.err;
  auto pending = r2q({"export", "01234", "-o", out, "--db", db()});
  EXPECT_EQ(pending.exit_code, 2);
  EXPECT_NE(pending.err.find("is pending"), std::string::npos) << pending.err;
  std::filesystem::remove(dir / "runs/r2q.db.checkpoints" / (key + ".pt"));
  auto no_checkpoint = r2q({"export", key, "-o", out, "--db", db()});
  EXPECT_EQ(no_checkpoint.exit_code, 2);
  EXPECT_NE(no_checkpoint.err.find("checkpoint"), std::string::npos) << no_checkpoint.err;
}

}  // namespace
}  // namespace r2q

namespace r2q {
namespace {

// -j 2: two worker processes share the store; every run is executed exactly once, students wait for the
// teacher that the other worker is training.
TEST_F(Cli, ParallelWorkersRunEveryRunOnceAndShareTeachers) {
  auto file = spec("parallel", R"({"quant": {"method": "r2q"}})", R"({"loss.kd": [0, 1], "seed": [0, 1]})");
  auto r = r2q({"sweep", file, "--db", db(), "-j", "2", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("2 workers x 1 thread(s)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[w1] "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[w2] "), std::string::npos) << r.err;
  store::Store s(db(), store::Store::Mode::ReadOnly);
  auto runs = s.runs(std::string("parallel"));
  ASSERT_EQ(runs.size(), 6u);  // 4 grid points and 2 teachers
  std::set<std::string> workers;
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, store::RunStatus::Finished) << run.key;
    EXPECT_EQ(run.attempt, 1) << run.key;  // claimed once: nobody ran it twice
    workers.insert(run.worker.value_or(""));
  }
  EXPECT_EQ(workers.size(), 2u);
  EXPECT_EQ(r2q({"sweep", file, "--db", db(), "-j", "0"}).exit_code, 2);
}

// 8 worker processes hammering one store with claims, metric writes and finishes: no writer error (no
// "database is locked"), every run executed exactly once, every run's metrics present.
TEST_F(Cli, EightWorkersShareOneStoreWithoutErrorsOrDuplicates) {
  auto file = spec("hammer", R"({"dataset": {"train_limit": 64, "test_limit": 32, "val_size": 0},
      "train": {"epochs": 2, "batch_size": 16}, "eval": {"fgsm_eps": [0]}})",
                   R"({"seed": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]})");
  auto r = r2q({"sweep", file, "--db", db(), "-j", "8", "--threads", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("locked"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("failed:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sweep 32/32 finished"), std::string::npos) << r.err;
  store::Store s(db(), store::Store::Mode::ReadOnly);
  auto runs = s.runs(std::string("hammer"));
  ASSERT_EQ(runs.size(), 32u);
  std::set<std::string> workers;
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, store::RunStatus::Finished) << run.key;
    EXPECT_EQ(run.attempt, 1) << run.key;
    workers.insert(run.worker.value_or(""));
    auto metrics = s.metrics(run.key);
    int losses = 0;
    for (const auto& m : metrics) losses += m.name == "train/loss";
    EXPECT_EQ(losses, 2) << run.key;  // one per epoch, written once
    EXPECT_TRUE(s.final_metrics(run.key).count("test/acc")) << run.key;
  }
  EXPECT_GE(workers.size(), 4u);  // the work spread over the workers
}

}  // namespace
}  // namespace r2q
