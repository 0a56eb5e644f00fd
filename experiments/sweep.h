// Running an experiment's runs against the store: skip finished ones, claim each run atomically, resume from
// its checkpoint, record metrics as they come, and keep going when one run fails.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "core/spec/spec.h"
#include "core/store/store.h"
#include "core/train/progress.h"

namespace r2q::sweep {

struct SweepOptions {
  int threads = 0;                   // overrides the spec's threads when > 0
  bool retry_failed = false;         // run failed runs again
  double stale_after_seconds = 120;  // a running run whose heartbeat is older than this is reclaimed
  double heartbeat_seconds = 10;     // how often a running run refreshes its heartbeat
  const std::atomic<bool>* stop = nullptr;
  // false: add the runs to the experiment instead of making it exactly these runs (`r2q run`).
  bool replace_experiment_runs = true;
  // The name is already taken by an experiment that has finished runs this spec no longer contains: true
  // keeps that earlier version as "NAME~k" and re-points the name (`--replace`); false refuses (InputError).
  bool replace_changed_spec = false;
  // A student whose teacher is running in another live worker: wait for it (revisit it after the other runs)
  // instead of skipping it.
  bool wait_for_teachers = true;
};

struct SweepSummary {
  int total = 0;
  int already_finished = 0;
  int succeeded = 0;       // finished in this sweep
  int failed = 0;          // failed in this sweep
  int skipped_failed = 0;  // failed earlier, not retried
  int held_elsewhere = 0;  // running in another live worker
  int waiting = 0;         // their teacher is not finished yet (running elsewhere)
  bool interrupted = false;
};

class SweepObserver : public train::ProgressSink {
 public:
  virtual void on_run_start(const spec::RunSpec& /*run*/, int /*index*/, int /*total*/, int /*attempt*/) {}
  virtual void on_run_resumed(const spec::RunSpec& /*run*/, int /*from_epoch*/) {}
  virtual void on_run_end(const spec::RunSpec& /*run*/, store::RunStatus /*status*/,
                          const std::string& /*message*/, const std::map<std::string, double>& /*metrics*/) {}
  virtual void on_run_skipped(const spec::RunSpec& /*run*/, int /*index*/, int /*total*/,
                              const std::string& /*why*/) {}
  // After each visit of a run: the sweep's counts so far.
  virtual void on_sweep_progress(const SweepSummary& /*summary*/) {}
};

// Checks every run and records the experiment with its runs in the store (runs already known keep their
// state). Where the name already holds finished runs the spec no longer contains, the earlier version is kept
// as "NAME~k" (its name returned) with `replace_changed_spec`, and refused otherwise: a changed spec never
// silently takes finished runs out of `status` and `report`. Done once before -j's workers start; again by
// each worker, where it finds nothing left to do.
// How many finished runs the store's experiment of this name holds that `experiment` does not contain: the
// runs a changed spec would take out of the name (0 for a new name or an unchanged or extended spec).
int finished_runs_leaving(store::Store& store, const spec::Experiment& experiment);

std::optional<std::string> register_experiment(store::Store& store, const spec::Experiment& experiment,
                                               const SweepOptions& options);

// Registers the experiment (register_experiment) and runs every run not yet finished. InputErrors found
// before starting (unknown names, missing data) are thrown before anything runs; one found during a run puts
// that run back to pending and is rethrown.
SweepSummary run_sweep(store::Store& store, const spec::Experiment& experiment, const SweepOptions& options,
                       SweepObserver& observer);

// run_sweep for an experiment register_experiment has recorded already (r2q sweep registers first, to say
// whether an earlier version was kept before anything runs).
SweepSummary run_registered_sweep(store::Store& store, const spec::Experiment& experiment,
                                  const SweepOptions& options, SweepObserver& observer);

}  // namespace r2q::sweep
