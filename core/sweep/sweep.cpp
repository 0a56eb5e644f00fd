// The sweep loop.
#include "core/sweep/sweep.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <numeric>
#include <thread>
#include <vector>

#include "core/sweep/execute.h"
#include "core/util/build_info.h"
#include "core/util/environment.h"
#include "core/util/error.h"

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
    store_.record_checkpoint(key_, worker_, path.string(), epoch);
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

bool process_exists(std::int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

bool holder_alive(const store::RunRecord& run, double stale_after_seconds) {
  if (!run.heartbeat || now_seconds() - *run.heartbeat > stale_after_seconds) return false;
  if (run.host && *run.host == hostname()) return process_exists(run.pid);
  return true;
}

std::filesystem::path checkpoint_path(const store::Store& store, const std::string& run_key) {
  auto dir = store.path().has_parent_path() ? store.path().parent_path() : std::filesystem::path(".");
  return dir / "checkpoints" / (run_key + ".pt");
}

SweepSummary run_sweep(store::Store& store, const spec::Experiment& experiment, const SweepOptions& options,
                       SweepObserver& observer) {
  // Everything that can be checked without running is checked before the first run starts.
  for (size_t i = 0; i < experiment.runs.size(); ++i) {
    const auto& run = experiment.runs[i];
    check_runnable(run, experiment.source + ": run " + std::to_string(i + 1) +
                            (run.label.empty() ? "" : " (" + run.label + ")"));
  }
  std::vector<store::RunToAdd> to_add;
  for (const auto& run : experiment.runs) to_add.push_back({run.key, run.config});
  store.add_experiment(experiment.name, experiment.spec, experiment.source, to_add,
                       options.replace_experiment_runs);

  store::Claimant me;
  me.host = hostname();
  me.pid = ::getpid();
  me.worker = me.host + ":" + std::to_string(me.pid);
  me.retry_failed = options.retry_failed;
  me.holder_alive = [&](const store::RunRecord& r) { return holder_alive(r, options.stale_after_seconds); };
  const nlohmann::json base_environment = capture_environment();

  SweepSummary summary;
  summary.total = static_cast<int>(experiment.runs.size());
  // Passes over the runs: a student whose teacher is running in another live worker is revisited after the
  // others, until its teacher is done (parallel workers share teachers this way).
  std::vector<int> todo(experiment.runs.size()), waiting;
  std::iota(todo.begin(), todo.end(), 0);
  for (;;) {
    waiting.clear();
    for (int i : todo) {
      if (options.stop && options.stop->load()) {
        summary.interrupted = true;
        break;
      }
      spec::RunSpec run = experiment.runs[static_cast<size_t>(i)];
      if (options.threads > 0) run.execution["threads"] = options.threads;

      // A student needs its teacher finished (the teacher is listed, and so runs, before it).
      std::filesystem::path teacher_checkpoint;
      std::string teacher_problem;
      if (!run.teacher_key.empty()) {
        auto teacher = store.run(run.teacher_key);
        const std::string name = "teacher run " + run.teacher_key.substr(0, 12);
        if (!teacher) {
          teacher_problem = name + " is not in the store";
        } else if (teacher->status == store::RunStatus::Finished) {
          teacher_checkpoint = teacher->checkpoint ? std::filesystem::path(*teacher->checkpoint)
                                                   : checkpoint_path(store, run.teacher_key);
        } else if (teacher->status == store::RunStatus::Failed) {
          teacher_problem = name + " failed: " + teacher->error.value_or("?");
        } else if (teacher->status == store::RunStatus::Running && me.holder_alive(*teacher)) {
          if (options.wait_for_teachers) {
            waiting.push_back(i);
          } else {
            ++summary.waiting;
            observer.on_run_skipped(
                run, i, summary.total,
                "waiting for its " + name + " (running in worker " + teacher->worker.value_or("?") + ")");
          }
          continue;
        } else {
          teacher_problem = name + " did not finish (" + store::to_string(teacher->status) + ")";
        }
      }
      nlohmann::json environment = base_environment;
      environment["execution"] = run.execution;

      switch (store.claim(run.key, me, environment, build_git_commit(), build_git_dirty())) {
        case store::ClaimResult::AlreadyFinished:
          ++summary.already_finished;
          observer.on_run_skipped(run, i, summary.total, "finished");
          continue;
        case store::ClaimResult::Failed: {
          ++summary.skipped_failed;
          auto record = store.run(run.key);
          observer.on_run_skipped(
              run, i, summary.total,
              "failed earlier: " + record->error.value_or("?") + " (--retry-failed reruns it)");
          continue;
        }
        case store::ClaimResult::HeldByOther: {
          ++summary.held_elsewhere;
          auto record = store.run(run.key);
          observer.on_run_skipped(run, i, summary.total, "running in worker " + record->worker.value_or("?"));
          continue;
        }
        case store::ClaimResult::Claimed:
          break;
      }

      auto record = store.run(run.key);
      observer.on_run_start(run, i, summary.total, record->attempt);
      if (!teacher_problem.empty()) {
        store.fail(run.key, me.worker, teacher_problem);
        ++summary.failed;
        observer.on_run_end(run, store::RunStatus::Failed, teacher_problem, {});
        continue;
      }
      if (record->epoch > 0) observer.on_run_resumed(run, record->epoch);
      StoreRecorder recorder(store, run.key, me.worker, observer, options.heartbeat_seconds, environment);
      RunContext ctx{checkpoint_path(store, run.key), options.stop, &recorder, &recorder, teacher_checkpoint};
      try {
        auto finals = execute_run(run, ctx);
        store.finish(run.key, me.worker, finals);
        ++summary.succeeded;
        std::map<std::string, double> values;
        for (const auto& m : finals) values[m.name] = m.value;
        observer.on_run_end(run, store::RunStatus::Finished, "", values);
      } catch (const Interrupted& e) {
        store.release(run.key, me.worker, std::string("interrupted: ") + e.what());
        observer.on_run_end(run, store::RunStatus::Pending, e.what(), {});
        summary.interrupted = true;
        break;
      } catch (const InputError& e) {
        // Not the run's fault: leave it pending for when the input is fixed, and stop with the input error.
        store.release(run.key, me.worker, e.what());
        throw;
      } catch (const std::exception& e) {
        std::string message = e.what();
        store.fail(run.key, me.worker, message);
        ++summary.failed;
        observer.on_run_end(run, store::RunStatus::Failed, message, {});
      }
    }
    if (waiting.empty() || summary.interrupted) break;
    // Wait for the teachers, interruptibly, then revisit their students.
    for (int t = 0; t < 20 && !(options.stop && options.stop->load()); ++t)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    todo = waiting;
  }
  summary.waiting += static_cast<int>(waiting.size());
  return summary;
}

}  // namespace r2q::sweep
