// Helpers shared by the quantizers.
#include <torch/torch.h>

#include "core/quant/methods/methods.h"

namespace r2q::quant {

torch::Tensor per_channel_mean_abs(const torch::Tensor& w) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < w.dim(); ++d) dims.push_back(d);
  return w.abs().mean(dims, /*keepdim=*/true);
}

}  // namespace r2q::quant
