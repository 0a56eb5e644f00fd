// Batches split across single-threaded plans and run in chunks.
#include "backends/cpu/batch_split.h"

#include <algorithm>
#include <exception>
#include <map>
#include <thread>
#include <utility>

namespace r2q::backends::cpu {
namespace {

class BatchSplitPlan final : public Plan {
 public:
  BatchSplitPlan(std::vector<std::unique_ptr<Plan>> plans, deploy::Shape output, int64_t chunk)
      : plans_(std::move(plans)),
        output_(output),
        chunk_(std::max<int64_t>(1, chunk)),
        slices_(plans_.size()),
        errors_(plans_.size()) {}

  const deploy::FloatBatch& run(const deploy::FloatBatch& input) override {
    const int64_t n = input.n;
    const auto image = static_cast<std::size_t>(input.shape.size());
    // A batch that fits one chunk (or a malformed one, which the plan rejects with its own message).
    if (n <= chunk_ || input.data.size() != static_cast<std::size_t>(n) * image) return plans_[0]->run(input);

    const auto threads =
        static_cast<int64_t>(std::min<std::size_t>(plans_.size(), static_cast<std::size_t>(n)));
    const auto classes = static_cast<std::size_t>(output_.size());
    logits_.n = n;
    logits_.shape = output_;
    logits_.data.resize(static_cast<std::size_t>(n) * classes);
    auto run_slice = [&](int64_t t) {
      try {
        deploy::FloatBatch& chunk = slices_[static_cast<std::size_t>(t)];
        chunk.shape = input.shape;
        const int64_t end = n * (t + 1) / threads;
        for (int64_t begin = n * t / threads; begin < end; begin += chunk_) {
          chunk.n = std::min(chunk_, end - begin);
          const auto from =
              input.data.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(begin) * image);
          chunk.data.assign(from,
                            from + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(chunk.n) * image));
          const deploy::FloatBatch& out = plans_[static_cast<std::size_t>(t)]->run(chunk);
          std::copy(
              out.data.begin(), out.data.end(),
              logits_.data.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(begin) * classes));
        }
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
  deploy::Shape output_;
  int64_t chunk_;
  std::vector<deploy::FloatBatch> slices_;  // each thread's current chunk
  std::vector<std::exception_ptr> errors_;
  deploy::FloatBatch logits_;
};

}  // namespace

std::unique_ptr<Plan> split_batches(std::vector<std::unique_ptr<Plan>> plans, const deploy::Model& model,
                                    int64_t chunk) {
  const std::map<int, deploy::Shape> shapes = deploy::validate(model);
  return std::make_unique<BatchSplitPlan>(std::move(plans), shapes.at(model.output), chunk);
}

int64_t chunk_for_cache(const deploy::Model& model, std::size_t cache_bytes) {
  std::size_t largest = 1;
  for (const auto& [value, shape] : deploy::validate(model))
    largest = std::max(largest, static_cast<std::size_t>(shape.size()) * sizeof(float));
  return std::max<int64_t>(1, static_cast<int64_t>(cache_bytes / largest));
}

}  // namespace r2q::backends::cpu
