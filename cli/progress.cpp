// Console progress.
#include "cli/progress.h"

#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/common.h"
#include "core/store/metric_names.h"
#include "core/util/text.h"

namespace r2q::cli {
namespace {

std::string pct(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * fraction);
  return buf;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

SweepMeter::SweepMeter(int total) : total_(total) {}

void SweepMeter::update(int finished, int failed, int running) {
  if (finished_at_start_ < 0) finished_at_start_ = finished;
  changed_ = finished != finished_ || failed != failed_ || running != running_;
  finished_ = finished;
  failed_ = failed;
  running_ = running;
}

std::string SweepMeter::text(int width) const {
  const int done_here = finished_ - std::max(0, finished_at_start_);
  const int remaining = total_ - finished_ - failed_;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double eta = remaining == 0 ? 0 : done_here > 0 ? elapsed / done_here * remaining : NAN;
  std::string b;
  if (width > 0) {
    const int filled = total_ > 0 ? width * (finished_ + failed_) / total_ : width;
    for (int i = 0; i < width; ++i) b += i < filled ? "\u2588" : "\u2591";
    b += " ";
  }
  std::string text = "sweep " + b + std::to_string(finished_) + "/" + std::to_string(total_) + " finished";
  if (failed_) text += ", " + std::to_string(failed_) + " failed";
  if (running_) text += ", " + std::to_string(running_) + " running";
  return text + ", ETA " + format_duration(eta);
}

ConsoleProgress::ConsoleProgress(std::string prefix)
    : prefix_(std::move(prefix)),
      live_(prefix_.empty() && stderr_is_terminal()),
      color_(use_color()),
      last_plain_(std::chrono::steady_clock::now()) {}

ConsoleProgress::~ConsoleProgress() {
  clear_bars();
  std::cerr << std::flush;
}

std::string ConsoleProgress::paint(const std::string& text, const char* color) const {
  return color_ ? std::string("\033[") + color + "m" + text + "\033[0m" : text;
}

void ConsoleProgress::clear_bars() {
  // The cursor is at the end of the last live line: clear it and the ones above it.
  for (int i = 0; i < bar_lines_; ++i) std::cerr << (i ? "\033[1A\r\033[2K" : "\r\033[2K");
  bar_lines_ = 0;
}

void ConsoleProgress::line(const std::string& text) {
  clear_bars();
  std::cerr << prefix_ + text + "\n" << std::flush;
}

void ConsoleProgress::bar(const std::string& text) {
  clear_bars();
  if (meter_) {
    std::cerr << paint(meter_->text(24), "1") << "\n";
    ++bar_lines_;
  }
  std::cerr << text << std::flush;
  ++bar_lines_;
}

void ConsoleProgress::on_sweep_progress(const sweep::SweepSummary& s) {
  if (!prefix_.empty()) return;
  if (!meter_) meter_.emplace(s.total);
  meter_->update(s.already_finished + s.succeeded, s.failed + s.skipped_failed, 0);
  // In logs: a line each time a run of this sweep ends.
  if (!live_ && s.succeeded + s.failed != runs_ended_) line(meter_->text());
  runs_ended_ = s.succeeded + s.failed;
}

void ConsoleProgress::on_run_start(const spec::RunSpec& run, int index, int total, int attempt) {
  epochs_ = run.config["train"]["epochs"].get<int>();
  std::string what = run.config["model"]["name"].get<std::string>() + " " +
                     run.config["quant"]["method"].get<std::string>() + " on " +
                     run.config["dataset"]["name"].get<std::string>();
  line(paint("[" + std::to_string(index + 1) + "/" + std::to_string(total) + "]", "1") + " run " +
       run.key.substr(0, 12) + "  " + what + (run.label.empty() ? "" : "  " + run.label) +
       (attempt > 1 ? "  (attempt " + std::to_string(attempt) + ")" : ""));
}

void ConsoleProgress::on_run_resumed(const spec::RunSpec&, int from_epoch) {
  line("  resuming from the checkpoint of epoch " + std::to_string(from_epoch));
}

void ConsoleProgress::on_run_skipped(const spec::RunSpec& run, int index, int total, const std::string& why) {
  line("[" + std::to_string(index + 1) + "/" + std::to_string(total) + "] run " + run.key.substr(0, 12) +
       "  " + (run.label.empty() ? "" : run.label + "  ") + paint("skipped: " + why, "2"));
}

void ConsoleProgress::on_batch(const train::BatchProgress& p) {
  auto now = std::chrono::steady_clock::now();
  const double eta = p.images_per_s > 0 ? p.epoch_elapsed / static_cast<double>(p.batch) *
                                              static_cast<double>(p.batches - p.batch)
                                        : NAN;
  std::string stats = "epoch " + std::to_string(p.epoch) + "/" + std::to_string(p.epochs) + "  batch " +
                      std::to_string(p.batch) + "/" + std::to_string(p.batches) + "  loss " +
                      fixed(p.loss, 4) + "  " + fixed(p.images_per_s, 0) + " img/s  ETA " +
                      format_duration(eta);
  if (live_) {
    if (now - last_draw_ < std::chrono::milliseconds(100) && p.batch != p.batches) return;
    last_draw_ = now;
    const int width = 24;
    int filled = static_cast<int>(width * p.batch / std::max<std::int64_t>(1, p.batches));
    std::string b;
    for (int i = 0; i < width; ++i) b += i < filled ? "\u2588" : "\u2591";
    bar("  " + b + " " + stats);
  } else if (now - last_plain_ >= std::chrono::seconds(60)) {
    // Logs (Slurm, CI) get a line a minute during long epochs.
    last_plain_ = now;
    line("  " + stats);
  }
}

void ConsoleProgress::on_epoch(const train::EpochSummary& s) {
  line("  epoch " + std::to_string(s.epoch) + "/" + std::to_string(s.epochs) + "  loss " + fixed(s.loss, 4) +
       "  train " + pct(s.train_acc) + (s.val_acc ? "  val " + pct(*s.val_acc) : "") + "  " +
       fixed(s.images_per_s, 0) + " img/s  " + format_duration(s.seconds));
  last_plain_ = std::chrono::steady_clock::now();
}

void ConsoleProgress::on_phase(const std::string& phase, std::int64_t done, std::int64_t total) {
  if (!live_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done != total) return;
  last_draw_ = now;
  bar("  " + phase + " " + std::to_string(done) + "/" + std::to_string(total));
}

void ConsoleProgress::on_warning(const std::string& message) {
  line("  " + paint("warning: " + message, "33"));
}

void ConsoleProgress::on_run_end(const spec::RunSpec&, store::RunStatus status, const std::string& message,
                                 const std::map<std::string, double>& metrics) {
  if (status == store::RunStatus::Finished) {
    std::string text = "  " + paint("finished", "32");
    if (auto it = metrics.find(metric::kTestAcc); it != metrics.end()) text += ": test " + pct(it->second);
    for (const auto& [name, value] : metrics)
      if (name.rfind("test/fgsm/", 0) == 0 && name != metric::fgsm_acc(0))
        text += "  FGSM " + name.substr(10, name.size() - 14) + " " + pct(value);
    if (auto it = metrics.find(metric::kTrainSeconds); it != metrics.end())
      text += "  (trained in " + format_duration(it->second) + ")";
    line(text);
  } else if (status == store::RunStatus::Failed) {
    line("  " + paint("failed: " + message, "31"));
  } else {
    line("  " + paint("stopped: " + message + "; it resumes from its last checkpoint", "33"));
  }
}

}  // namespace r2q::cli
