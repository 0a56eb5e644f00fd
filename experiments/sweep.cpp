// The sweep loop.
#include "experiments/sweep.h"

#include <unistd.h>

#include <chrono>
#include <numeric>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "core/store/checkpoints.h"
#include "core/store/liveness.h"
#include "core/util/build_info.h"
#include "core/util/environment.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/process.h"
#include "core/util/text.h"
#include "experiments/execute.h"

namespace r2q::sweep {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Persists a run's progress through the store and forwards events to the observer; refreshes the heartbeat.
class StoreRecorder : public RunHooks, public train::ProgressSink {
 public:
  StoreRecorder(store::Store& store, const std::string& key, const std::string& worker,
                SweepObserver& observer, double heartbeat_seconds, nlohmann::json environment)
      : store_(store),
        key_(key),
        worker_(worker),
        observer_(observer),
        heartbeat_seconds_(heartbeat_seconds),
        environment_(std::move(environment)) {}

  void epoch_done(int /*epoch*/, const std::vector<store::Metric>& metrics) override {
    store_.record_metrics(key_, worker_, metrics);
    last_beat_ = now_seconds();
  }
  void checkpoint_saved(const std::filesystem::path& path, int epoch) override {
    store_.record_checkpoint(key_, worker_, store::recorded_checkpoint_path(store_, path), epoch);
    last_beat_ = now_seconds();
  }
  void environment(const nlohmann::json& facts) override {
    environment_.merge_patch(facts);
    store_.set_environment(key_, worker_, environment_);
  }

  void on_batch(const train::BatchProgress& p) override {
    beat();
    observer_.on_batch(p);
  }
  void on_epoch(const train::EpochSummary& s) override { observer_.on_epoch(s); }
  void on_warning(const std::string& message) override { observer_.on_warning(message); }
  void on_phase(const std::string& phase, std::int64_t done, std::int64_t total) override {
    beat();
    observer_.on_phase(phase, done, total);
  }

 private:
  void beat() {
    double now = now_seconds();
    if (now - last_beat_ < heartbeat_seconds_) return;
    store_.heartbeat(key_, worker_);
    last_beat_ = now;
  }

  store::Store& store_;
  std::string key_, worker_;
  SweepObserver& observer_;
  double heartbeat_seconds_;
  double last_beat_ = now_seconds();
  nlohmann::json environment_;
};

// One sweep over the experiment's runs; visit() decides what happens to one run.
class SweepRunner {
 public:
  SweepRunner(store::Store& store, const spec::Experiment& experiment, const SweepOptions& options,
              SweepObserver& observer)
      : store_(store), experiment_(experiment), options_(options), observer_(observer) {
    me_.host = hostname();
    me_.pid = ::getpid();
    me_.worker = me_.host + ":" + std::to_string(me_.pid);
    me_.retry_failed = options.retry_failed;
    me_.holder_alive = [this](const store::RunRecord& r) {
      return store::holder_alive(r, options_.stale_after_seconds);
    };
    base_environment_ = capture_environment();
    summary_.total = static_cast<int>(experiment.runs.size());
  }

  SweepSummary run() {
    // Checkpoints a killed process was writing (temporary files it never renamed): an hour old at least.
    remove_stale_temporaries(store::checkpoint_dir(store_), std::chrono::hours(1));
    // Passes over the runs: a student whose teacher is running in another live worker is revisited after the
    // others, until its teacher is done (parallel workers share teachers this way).
    std::vector<int> todo(experiment_.runs.size()), waiting;
    std::iota(todo.begin(), todo.end(), 0);
    for (;;) {
      waiting.clear();
      for (int i : todo) {
        if (stopping()) summary_.interrupted = true;
        if (summary_.interrupted) break;
        if (visit(i) == Visit::Deferred) waiting.push_back(i);
        observer_.on_sweep_progress(summary_);
      }
      if (waiting.empty() || summary_.interrupted) break;
      // Wait for the teachers, interruptibly, then revisit their students.
      for (int t = 0; t < 20 && !stopping(); ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      todo = waiting;
    }
    summary_.waiting += static_cast<int>(waiting.size());
    return summary_;
  }

 private:
  enum class Visit { Done, Deferred };

  // What a student needs from its teacher: its checkpoint, or the reason it cannot have it.
  struct TeacherState {
    std::filesystem::path checkpoint;
    std::string problem;
    std::optional<std::string> running_in;  // the teacher is running in this live worker
  };

  bool stopping() const { return options_.stop && options_.stop->load(); }

  TeacherState teacher_of(const spec::RunSpec& run) {
    TeacherState state;
    if (run.teacher_key.empty()) return state;
    auto teacher = store_.run(run.teacher_key);
    const std::string name = "teacher run " + run.teacher_key.substr(0, 12);
    if (!teacher) {
      state.problem = name + " is not in the store";
    } else if (teacher->status == store::RunStatus::Finished) {
      state.checkpoint = store::run_checkpoint(store_, *teacher);
    } else if (teacher->status == store::RunStatus::Failed) {
      state.problem = name + " failed: " + teacher->error.value_or("?");
    } else if (teacher->status == store::RunStatus::Running && me_.holder_alive(*teacher)) {
      state.running_in = teacher->worker.value_or("?");
    } else {
      state.problem = name + " did not finish (" + store::to_string(teacher->status) + ")";
    }
    return state;
  }

  Visit visit(int i) {
    spec::RunSpec run = experiment_.runs[static_cast<size_t>(i)];
    if (options_.threads > 0) run.execution["threads"] = options_.threads;
    const int total = summary_.total;

    // A student needs its teacher finished (the teacher is listed, and so runs, before it).
    const TeacherState teacher = teacher_of(run);
    if (teacher.running_in) {
      if (options_.wait_for_teachers) return Visit::Deferred;
      ++summary_.waiting;
      observer_.on_run_skipped(run, i, total,
                               "waiting for its teacher run " + run.teacher_key.substr(0, 12) +
                                   " (running in worker " + *teacher.running_in + ")");
      return Visit::Done;
    }
    nlohmann::json environment = base_environment_;
    environment["execution"] = run.execution;

    switch (store_.claim(run.key, me_, environment, build_git_commit(), build_git_dirty())) {
      case store::ClaimResult::AlreadyFinished:
        ++summary_.already_finished;
        observer_.on_run_skipped(run, i, total, "finished");
        return Visit::Done;
      case store::ClaimResult::Failed:
        ++summary_.skipped_failed;
        observer_.on_run_skipped(
            run, i, total,
            "failed earlier: " + store_.run(run.key)->error.value_or("?") + " (--retry-failed reruns it)");
        return Visit::Done;
      case store::ClaimResult::HeldByOther:
        ++summary_.held_elsewhere;
        observer_.on_run_skipped(run, i, total,
                                 "running in worker " + store_.run(run.key)->worker.value_or("?"));
        return Visit::Done;
      case store::ClaimResult::Claimed:
        break;
    }
    execute(run, i, environment, teacher);
    return Visit::Done;
  }

  // Runs a claimed run to its end: finished, failed, or (stopped) back to pending with its checkpoint.
  void execute(const spec::RunSpec& run, int i, const nlohmann::json& environment,
               const TeacherState& teacher) {
    auto record = store_.run(run.key);
    observer_.on_run_start(run, i, summary_.total, record->attempt);
    if (!teacher.problem.empty()) {
      store_.fail(run.key, me_.worker, teacher.problem);
      ++summary_.failed;
      observer_.on_run_end(run, store::RunStatus::Failed, teacher.problem, {});
      return;
    }
    if (record->epoch > 0) observer_.on_run_resumed(run, record->epoch);
    StoreRecorder recorder(store_, run.key, me_.worker, observer_, options_.heartbeat_seconds, environment);
    // The checkpoint this store recorded for the run (it resumes from it), else a path in the store's own
    // directory: a checkpoint another store wrote for the same key is never taken for this run's.
    RunContext ctx{store::run_checkpoint(store_, *record), options_.stop, &recorder, &recorder,
                   teacher.checkpoint};
    try {
      auto finals = execute_run(run, ctx);
      store_.finish(run.key, me_.worker, finals);
      ++summary_.succeeded;
      std::map<std::string, double> values;
      for (const auto& m : finals) values[m.name] = m.value;
      observer_.on_run_end(run, store::RunStatus::Finished, "", values);
    } catch (const Interrupted& e) {
      store_.release(run.key, me_.worker, std::string("interrupted: ") + e.what());
      observer_.on_run_end(run, store::RunStatus::Pending, e.what(), {});
      summary_.interrupted = true;
    } catch (const InputError& e) {
      // Not the run's fault: leave it pending for when the input is fixed, and stop with the input error.
      store_.release(run.key, me_.worker, one_line(e.what()));
      throw;
    } catch (const std::exception& e) {
      // The store keeps the cause in one line; LibTorch's stack trace only reaches the console with
      // R2Q_DEBUG.
      const std::string message = one_line(e.what());
      store_.fail(run.key, me_.worker, message);
      ++summary_.failed;
      observer_.on_run_end(run, store::RunStatus::Failed, debug_enabled() ? e.what() : message, {});
    }
  }

  store::Store& store_;
  const spec::Experiment& experiment_;
  const SweepOptions& options_;
  SweepObserver& observer_;
  store::Claimant me_;
  nlohmann::json base_environment_;
  SweepSummary summary_;
};

}  // namespace

int finished_runs_leaving(store::Store& store, const spec::Experiment& experiment) {
  std::set<std::string> keys;
  for (const auto& run : experiment.runs) keys.insert(run.key);
  int leaving = 0;
  for (const auto& key : store.experiment_runs(experiment.name))
    if (!keys.count(key))
      if (auto record = store.run(key); record && record->status == store::RunStatus::Finished) ++leaving;
  return leaving;
}

std::optional<std::string> register_experiment(store::Store& store, const spec::Experiment& experiment,
                                               const SweepOptions& options) {
  // Everything that can be checked without running is checked before the first run starts.
  for (size_t i = 0; i < experiment.runs.size(); ++i) {
    const auto& run = experiment.runs[i];
    check_runnable(run, experiment.source + ": run " + std::to_string(i + 1) +
                            (run.label.empty() ? "" : " (" + run.label + ")"));
  }
  std::vector<store::RunToAdd> to_add;
  for (const auto& run : experiment.runs) to_add.push_back({run.key, run.config});
  std::optional<std::string> kept;
  if (options.replace_experiment_runs) {
    const int leaving = finished_runs_leaving(store, experiment);
    if (leaving > 0 && !options.replace_changed_spec)
      throw InputError(
          experiment.source + ": experiment " + quoted_value(experiment.name) + " in " +
          store.path().string() + " has " + std::to_string(leaving) + " finished run" +
          (leaving == 1 ? "" : "s") +
          " that this spec no longer contains (the spec changed): give the new spec another name, "
          "or sweep with --replace to point the name at it (the earlier version stays reachable "
          "as " +
          quoted_value(experiment.name + "~1") + ", or the next free ~k)");
    if (leaving > 0) kept = store.keep_experiment_version(experiment.name);
  }
  store.add_experiment(experiment.name, experiment.spec, experiment.source, to_add,
                       options.replace_experiment_runs);
  return kept;
}

SweepSummary run_sweep(store::Store& store, const spec::Experiment& experiment, const SweepOptions& options,
                       SweepObserver& observer) {
  register_experiment(store, experiment, options);
  return run_registered_sweep(store, experiment, options, observer);
}

SweepSummary run_registered_sweep(store::Store& store, const spec::Experiment& experiment,
                                  const SweepOptions& options, SweepObserver& observer) {
  return SweepRunner(store, experiment, options, observer).run();
}

}  // namespace r2q::sweep
