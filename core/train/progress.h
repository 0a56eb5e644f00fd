// Progress events of a run. core/ never prints: the CLI implements this to draw bars or lines, the sweep to
// keep heartbeats fresh.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace r2q::train {

struct BatchProgress {
  int epoch = 0, epochs = 0;            // 1-based epoch
  std::int64_t batch = 0, batches = 0;  // batches done in this epoch
  double loss = 0;                      // running mean over the epoch
  double images_per_s = 0;              // over the epoch so far
  double lr = 0;
  double epoch_elapsed = 0;  // seconds
};

struct EpochSummary {
  int epoch = 0, epochs = 0;
  double loss = 0, train_acc = 0, lr = 0, seconds = 0, images_per_s = 0;
  std::optional<double> val_acc;
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void on_batch(const BatchProgress&) {}
  virtual void on_epoch(const EpochSummary&) {}
  // A phase other than training ("evaluating"), with its own progress.
  virtual void on_phase(const std::string& /*phase*/, std::int64_t /*done*/, std::int64_t /*total*/) {}
  // Something the user should know that does not stop the run (a damaged checkpoint was discarded).
  virtual void on_warning(const std::string& /*message*/) {}
};

}  // namespace r2q::train
