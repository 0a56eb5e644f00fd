// Batches split across single-threaded plans.
#include "backends/cpu/batch_split.h"

#include <algorithm>
#include <exception>
#include <thread>
#include <utility>

namespace r2q::backends::cpu {
namespace {

class BatchSplitPlan final : public Plan {
 public:
  explicit BatchSplitPlan(std::vector<std::unique_ptr<Plan>> plans)
      : plans_(std::move(plans)), slices_(plans_.size()), outputs_(plans_.size()), errors_(plans_.size()) {}

  const deploy::FloatBatch& run(const deploy::FloatBatch& input) override {
    const int64_t n = input.n;
    const auto threads = static_cast<int64_t>(std::min<std::size_t>(plans_.size(), n > 0 ? n : 1));
    const std::size_t image = static_cast<std::size_t>(input.shape.size());
    // One slice (or a malformed batch, which the plan rejects with its own message): no split.
    if (threads < 2 || input.data.size() != static_cast<std::size_t>(n) * image) return plans_[0]->run(input);

    auto run_slice = [&](int64_t t) {
      try {
        const int64_t begin = n * t / threads, end = n * (t + 1) / threads;
        deploy::FloatBatch& slice = slices_[static_cast<std::size_t>(t)];
        slice.n = end - begin;
        slice.shape = input.shape;
        slice.data.assign(input.data.begin() + static_cast<std::ptrdiff_t>(begin * image),
                          input.data.begin() + static_cast<std::ptrdiff_t>(end * image));
        outputs_[static_cast<std::size_t>(t)] = &plans_[static_cast<std::size_t>(t)]->run(slice);
      } catch (...) {
        errors_[static_cast<std::size_t>(t)] = std::current_exception();
      }
    };
    std::vector<std::thread> workers;
    for (int64_t t = 1; t < threads; ++t) workers.emplace_back(run_slice, t);
    run_slice(0);
    for (std::thread& w : workers) w.join();
    for (std::exception_ptr& e : errors_)
      if (e) std::rethrow_exception(std::exchange(e, nullptr));

    logits_.n = n;
    logits_.shape = outputs_[0]->shape;
    logits_.data.clear();  // keeps its capacity
    for (int64_t t = 0; t < threads; ++t) {
      const std::vector<float>& part = outputs_[static_cast<std::size_t>(t)]->data;
      logits_.data.insert(logits_.data.end(), part.begin(), part.end());
    }
    return logits_;
  }

  RunResult run_with_accumulators(const deploy::FloatBatch& input) override {
    return plans_[0]->run_with_accumulators(input);
  }
  std::string engine() const override { return plans_[0]->engine(); }
  std::size_t weight_bytes() const override {
    std::size_t bytes = 0;
    for (const auto& p : plans_) bytes += p->weight_bytes();
    return bytes;
  }
  std::vector<std::string> layer_paths() const override { return plans_[0]->layer_paths(); }
  void set_profiling(bool on) override {
    for (auto& p : plans_) p->set_profiling(on);
  }
  const std::vector<double>& layer_seconds() const override { return plans_[0]->layer_seconds(); }

 private:
  std::vector<std::unique_ptr<Plan>> plans_;
  std::vector<deploy::FloatBatch> slices_;
  std::vector<const deploy::FloatBatch*> outputs_;  // each plan's logits of its slice
  std::vector<std::exception_ptr> errors_;
  deploy::FloatBatch logits_;
};

}  // namespace

std::unique_ptr<Plan> split_batches(std::vector<std::unique_ptr<Plan>> plans) {
  if (plans.size() == 1) return std::move(plans.front());
  return std::make_unique<BatchSplitPlan>(std::move(plans));
}

}  // namespace r2q::backends::cpu
