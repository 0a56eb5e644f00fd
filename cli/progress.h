// Console progress for sweeps: a live bar on a terminal (epoch, batch, loss, img/s, ETA), plain lines
// otherwise.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "experiments/sweep.h"

namespace r2q::cli {

// The sweep-level line: runs finished / failed / running of the total, and an ETA from the runs that finished
// since the meter started (runs finished earlier took no time here).
class SweepMeter {
 public:
  explicit SweepMeter(int total);
  // Counts now; the first call sets the baseline of runs already finished.
  void update(int finished, int failed, int running);
  bool changed() const { return changed_; }
  // "sweep 7/18 finished, 1 failed, 2 running, ETA 35m10s" (with a bar of `width` cells when width > 0)
  std::string text(int width = 0) const;

 private:
  int total_;
  int finished_ = 0, failed_ = 0, running_ = 0;
  int finished_at_start_ = -1;
  bool changed_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class ConsoleProgress : public sweep::SweepObserver {
 public:
  // `prefix` starts every line (a worker's "[w2] "); with a prefix there is no live bar (workers share the
  // terminal), only plain lines.
  explicit ConsoleProgress(std::string prefix = "");
  ~ConsoleProgress() override;

  void on_run_start(const spec::RunSpec& run, int index, int total, int attempt) override;
  void on_run_resumed(const spec::RunSpec& run, int from_epoch) override;
  void on_run_end(const spec::RunSpec& run, store::RunStatus status, const std::string& message,
                  const std::map<std::string, double>& metrics) override;
  void on_run_skipped(const spec::RunSpec& run, int index, int total, const std::string& why) override;
  void on_batch(const train::BatchProgress& p) override;
  void on_epoch(const train::EpochSummary& s) override;
  void on_phase(const std::string& phase, std::int64_t done, std::int64_t total) override;
  void on_warning(const std::string& message) override;
  // On a terminal the sweep line sits above the run's bar; in logs it is printed when a run ends. Workers of
  // `-j N` (with a prefix) leave it to their parent, which sees the whole store.
  void on_sweep_progress(const sweep::SweepSummary& summary) override;

 private:
  void line(const std::string& text);  // a permanent line (clears the bars first)
  void bar(const std::string& text);   // the live run bar, below the sweep bar
  void clear_bars();
  std::string paint(const std::string& text, const char* color) const;

  std::string prefix_;
  bool live_;
  bool color_;
  int bar_lines_ = 0;  // live lines on screen below the cursor's line start
  std::optional<SweepMeter> meter_;
  int runs_ended_ = 0;
  std::chrono::steady_clock::time_point last_draw_{}, last_plain_{};
  int epochs_ = 0;
};

}  // namespace r2q::cli
