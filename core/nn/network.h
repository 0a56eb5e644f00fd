// The interface every model implements (models/): takes [0, 1] pixels (normalisation is the first layer) and
// returns logits. The trainer, the attacks, the losses and the deployment converter see models only through
// it.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace r2q::nn {

class DeployBuilder;

// What a model needs to know about its input.
struct InputShape {
  int channels = 1, height = 28, width = 28, classes = 10;
  std::vector<double> mean{0.5}, std{0.5};
};

// Logits and the globally average-pooled output of every stage (batch x channels each), from one forward
// pass.
struct StagedOutput {
  torch::Tensor logits;
  std::vector<torch::Tensor> stages;
};

class Network : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& pixels) = 0;
  // The same forward pass, also collecting the stage embeddings that the structural and adversarial losses
  // compare between teacher and student.
  StagedOutput forward_with_stages(const torch::Tensor& pixels);
  // Emits the model's forward pass, in eval mode, as deployment layers (core/nn/to_deploy.h) and returns
  // the value id of the logits. The default throws InputError: the model cannot be exported yet.
  virtual int to_deploy(nn::DeployBuilder& builder) const;

 protected:
  // Models call this at the end of each stage (a resolution or a block group); it costs nothing unless
  // forward_with_stages is running.
  void stage_output(const torch::Tensor& x);

 private:
  std::vector<torch::Tensor>* stage_sink_ = nullptr;
};

using NetworkPtr = std::shared_ptr<Network>;

// The device the module's parameters are on (the CPU for one without parameters).
torch::Device device_of(const torch::nn::Module& module);

// Copies every parameter and buffer of `from` into the entry of `to` with the same name and shape (a student
// starting from its FP32 teacher). Quantizer state of `to` (learned scales, their "initialized" flags) is
// left alone, so scales initialise from the copied weights on the first batch. Every parameter of `from` must
// find its place in `to`; returns the number of tensors copied.
std::size_t copy_weights(const torch::nn::Module& from, torch::nn::Module& to);

// He initialisation (fan-out, ReLU) of every quantized convolution of `model`, as the reference
// implementations of ResNet, MobileNetV2 and SqueezeNet do.
void init_convolutions_he(torch::nn::Module& model);

// (x - mean) / std per channel, with the statistics stored as buffers (they travel with checkpoints).
class NormalizeImpl : public torch::nn::Module {
 public:
  NormalizeImpl(const std::vector<double>& mean, const std::vector<double>& std);
  torch::Tensor forward(const torch::Tensor& x);
  const torch::Tensor& mean() const { return mean_; }        // [1, C, 1, 1]
  const torch::Tensor& inv_std() const { return inv_std_; }  // [1, C, 1, 1], float32(1 / std)

 private:
  torch::Tensor mean_, inv_std_;
};
TORCH_MODULE(Normalize);

}  // namespace r2q::nn
