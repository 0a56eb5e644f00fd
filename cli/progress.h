// Console progress for sweeps: a live bar on a terminal (epoch, batch, loss, img/s, ETA), plain lines
// otherwise.
#pragma once

#include <chrono>
#include <string>

#include "core/sweep/sweep.h"

namespace r2q::cli {

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

 private:
  void line(const std::string& text);  // a permanent line (clears the bar first)
  void bar(const std::string& text);   // the live line
  std::string paint(const std::string& text, const char* color) const;

  std::string prefix_;
  bool live_;
  bool color_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{}, last_plain_{};
  int epochs_ = 0;
};

std::string format_duration(double seconds);

}  // namespace r2q::cli
