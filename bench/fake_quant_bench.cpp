// The fake quantization of one activation tensor of ResNet-20's first stage (batch 128, 16 channels, 28x28,
// NHWC, 2-bit unsigned codes), forward alone and forward + backward, as the operation chain and in one pass
// per direction, on 1 and 2 LibTorch threads: LSQ (lsq_fake_quant_chain, lsq_fake_quant), DoReFa's
// activations (dorefa_act_fake_quant_chain, dorefa_act_fake_quant) and PACT's (pact_fake_quant_chain,
// pact_fake_quant). It links tcmalloc where installed, as r2q-engine does (configure with -DR2Q_TCMALLOC=OFF
// for glibc's malloc):
//   fake_quant_bench --benchmark_min_time=0.5
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "core/quant/dorefa_fake_quant.h"
#include "core/quant/lsq_fake_quant.h"
#include "core/quant/pact_fake_quant.h"

namespace {

enum class Impl { kLsqChain, kLsqFused, kDorefaChain, kDorefaFused, kPactChain, kPactFused };

torch::Tensor activation() {
  torch::manual_seed(0);
  return torch::randn({128, 16, 28, 28}).contiguous(at::MemoryFormat::ChannelsLast);
}

// The 2-bit unsigned fake quantization of x; `s` is LSQ's step or PACT's clip (unused by DoReFa, whose scale
// is fixed).
template <Impl kImpl>
torch::Tensor fake_quant(const torch::Tensor& x, const torch::Tensor& s) {
  using namespace r2q::quant;
  switch (kImpl) {
    case Impl::kLsqChain:
      return lsq_fake_quant_chain(x, s, 0, 3);
    case Impl::kLsqFused:
      return lsq_fake_quant(x, s, 0, 3);
    case Impl::kDorefaChain:
      return dorefa_act_fake_quant_chain(x, 0, 3);
    case Impl::kDorefaFused:
      return dorefa_act_fake_quant(x, 0, 3);
    case Impl::kPactChain:
      return pact_fake_quant_chain(x, s, false, 3);
    case Impl::kPactFused:
      return pact_fake_quant(x, s, false, 3);
  }
  return {};
}

template <Impl kImpl>
void forward(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  const torch::Tensor x = activation();
  const torch::Tensor s = torch::full({1}, 0.3f);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    torch::Tensor y = fake_quant<kImpl>(x, s);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * x.numel());
}

template <Impl kImpl>
void forward_backward(benchmark::State& state) {
  at::set_num_threads(static_cast<int>(state.range(0)));
  const torch::Tensor x0 = activation();
  const torch::Tensor g = torch::randn(x0.sizes()).contiguous(at::MemoryFormat::ChannelsLast);
  for (auto _ : state) {
    torch::Tensor x = x0.detach().requires_grad_(true);
    torch::Tensor s = torch::full({1}, 0.3f).requires_grad_(true);
    torch::Tensor y = fake_quant<kImpl>(x, s);
    y.backward(g);
    benchmark::DoNotOptimize(x.grad().data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * x0.numel());
}

#define R2Q_FAKE_QUANT_BENCH(impl, name)                                                         \
  BENCHMARK(forward<impl>)->Name(name "Forward")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond); \
  BENCHMARK(forward_backward<impl>)                                                              \
      ->Name(name "ForwardBackward")                                                             \
      ->Arg(1)                                                                                   \
      ->Arg(2)                                                                                   \
      ->Unit(benchmark::kMicrosecond)

R2Q_FAKE_QUANT_BENCH(Impl::kLsqChain, "Lsq/chain/");
R2Q_FAKE_QUANT_BENCH(Impl::kLsqFused, "Lsq/fused/");
R2Q_FAKE_QUANT_BENCH(Impl::kDorefaChain, "Dorefa/chain/");
R2Q_FAKE_QUANT_BENCH(Impl::kDorefaFused, "Dorefa/fused/");
R2Q_FAKE_QUANT_BENCH(Impl::kPactChain, "Pact/chain/");
R2Q_FAKE_QUANT_BENCH(Impl::kPactFused, "Pact/fused/");

}  // namespace

BENCHMARK_MAIN();
