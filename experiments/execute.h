// One run from its resolved config to its final metrics: data, model (initialised from the teacher's weights
// when train.init says so), the objective, training with epoch checkpoints (resumed when one exists), then
// evaluation on the test set: clean, FGSM, PGD and transfer attacks.
#pragma once

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/spec/spec.h"
#include "core/store/store.h"
#include "core/train/progress.h"

namespace r2q::sweep {

// What the run reports while it goes, so that nothing done is lost if the process dies.
class RunHooks {
 public:
  virtual ~RunHooks() = default;
  // Epoch `epoch` finished: its metrics, to be stored before its checkpoint is written.
  virtual void epoch_done(int epoch, const std::vector<store::Metric>& metrics) = 0;
  virtual void checkpoint_saved(const std::filesystem::path& path, int epoch) = 0;
  // Additional facts for the run's stored environment (data fingerprint, threads).
  virtual void environment(const nlohmann::json& facts) = 0;
};

struct RunContext {
  std::filesystem::path checkpoint;  // this run's checkpoint file
  const std::atomic<bool>* stop = nullptr;
  train::ProgressSink* progress = nullptr;
  RunHooks* hooks = nullptr;
  std::filesystem::path teacher_checkpoint =
      {};  // the finished teacher's weights, when the run has a teacher
};

// Checks that this build can run the config (names known, features available, data present) without running
// anything. Errors are InputErrors naming the field; `where` prefixes them.
void check_runnable(const spec::RunSpec& run, const std::string& where);

// Executes the run and returns its final metrics (step = epochs). Throws RunError when training fails,
// Interrupted when *stop was set, InputError for bad input discovered late (a corrupt data file).
std::vector<store::Metric> execute_run(const spec::RunSpec& run, const RunContext& context);

}  // namespace r2q::sweep
