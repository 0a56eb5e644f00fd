// Threads and seeding.
#include "core/train/threads.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <thread>

namespace r2q::train {

int configure_threads(int requested) {
  int n = requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (at::get_num_threads() != n) at::set_num_threads(n);
  return n;
}

void seed_everything(std::uint64_t seed) {
  torch::manual_seed(seed);
}

}  // namespace r2q::train
