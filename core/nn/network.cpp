// Stage embeddings and input normalisation.
#include "core/nn/network.h"

#include <torch/torch.h>

#include "core/quant/layers.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::nn {

NormalizeImpl::NormalizeImpl(const std::vector<double>& mean, const std::vector<double>& std) {
  auto c = static_cast<int64_t>(mean.size());
  mean_ = register_buffer("mean", torch::tensor(mean, torch::kFloat32).view({1, c, 1, 1}));
  inv_std_ = register_buffer("inv_std", 1.0 / torch::tensor(std, torch::kFloat32).view({1, c, 1, 1}));
}

StagedOutput Network::forward_with_stages(const torch::Tensor& pixels) {
  StagedOutput out;
  struct Reset {
    std::vector<torch::Tensor>*& sink;
    ~Reset() { sink = nullptr; }
  } reset{stage_sink_};
  stage_sink_ = &out.stages;
  out.logits = forward(pixels);
  return out;
}

int Network::to_deploy(nn::DeployBuilder& /*builder*/) const {
  const std::string& type = name();  // "r2q::models::ResNet18"
  throw InputError("model " + type.substr(type.rfind(':') + 1) +
                   " cannot be exported yet: it has no Network::to_deploy (core/nn/network.h)");
}

torch::Device device_of(const torch::nn::Module& module) {
  const auto parameters = module.parameters();
  return parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
}

void Network::stage_output(const torch::Tensor& x) {
  if (stage_sink_) stage_sink_->push_back(x.dim() == 4 ? x.mean({2, 3}) : x);
}

std::size_t copy_weights(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto targets = to.named_parameters(/*recurse=*/true);
  auto target_buffers = to.named_buffers(/*recurse=*/true);
  std::size_t copied = 0;
  auto copy = [&](const std::string& name, const torch::Tensor& source, torch::Tensor* target,
                  bool required) {
    if (!target) {
      if (required) throw RunError("copy_weights: " + quoted_value(name) + " has no counterpart");
      return;
    }
    if (target->sizes() != source.sizes())
      throw RunError("copy_weights: " + quoted_value(name) + " has shape " + c10::str(source.sizes()) +
                     " here and " + c10::str(target->sizes()) + " there");
    target->copy_(source);
    ++copied;
  };
  for (const auto& p : from.named_parameters(true)) copy(p.key(), p.value(), targets.find(p.key()), true);
  for (const auto& b : from.named_buffers(true)) {
    const std::string& name = b.key();
    if (name == "initialized" || name.ends_with(".initialized")) continue;
    copy(name, b.value(), target_buffers.find(name), false);
  }
  return copied;
}

void init_convolutions_he(torch::nn::Module& model) {
  for (auto& m : model.modules(/*include_self=*/false))
    if (auto* conv = m->as<quant::QConv2dImpl>())
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor NormalizeImpl::forward(const torch::Tensor& x) {
  return (x - mean_) * inv_std_;
}

}  // namespace r2q::nn
