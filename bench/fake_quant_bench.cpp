// LSQ's fake quantization of one activation tensor of ResNet-20's first stage (batch 128, 16 channels, 28x28,
// NHWC, 2-bit unsigned codes), forward alone and forward + backward, as the operation chain
// (lsq_fake_quant_chain) and in one pass per direction (lsq_fake_quant), on 1 and 2 LibTorch threads. It
// links tcmalloc where installed, as r2q-engine does (configure with -DR2Q_TCMALLOC=OFF for glibc's malloc):
//   fake_quant_bench --benchmark_min_time=0.5
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "core/quant/lsq_fake_quant.h"

namespace {

using r2q::quant::lsq_fake_quant;
using r2q::quant::lsq_fake_quant_chain;

torch::Tensor activation() {
  torch::manual_seed(0);
  return torch::randn({128, 16, 28, 28}).contiguous(at::MemoryFormat::ChannelsLast);
}

template <bool kFused>
void forward(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  const torch::Tensor x = activation();
  const torch::Tensor s = torch::full({1}, 0.3f);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    torch::Tensor y = kFused ? lsq_fake_quant(x, s, 0, 3) : lsq_fake_quant_chain(x, s, 0, 3);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * x.numel());
}

template <bool kFused>
void forward_backward(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  const torch::Tensor x0 = activation();
  const torch::Tensor g = torch::randn(x0.sizes()).contiguous(at::MemoryFormat::ChannelsLast);
  for (auto _ : state) {
    torch::Tensor x = x0.detach().requires_grad_(true);
    torch::Tensor s = torch::full({1}, 0.3f).requires_grad_(true);
    torch::Tensor y = kFused ? lsq_fake_quant(x, s, 0, 3) : lsq_fake_quant_chain(x, s, 0, 3);
    y.backward(g);
    benchmark::DoNotOptimize(s.grad().data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * x0.numel());
}

BENCHMARK(forward<false>)->Name("LsqForward/chain")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK(forward<true>)->Name("LsqForward/fused")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK(forward_backward<false>)
    ->Name("LsqForwardBackward/chain")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(forward_backward<true>)
    ->Name("LsqForwardBackward/fused")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
