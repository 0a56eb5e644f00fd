// The LibTorch -> deployment IR export: the reference interpreter on the exported model reproduces the torch
// model's logits and, exactly, the integer accumulators of its quantized layers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>
#include <filesystem>
#include <functional>
#include <iostream>
#include <vector>

#include "core/deploy/input_affine.h"
#include "core/deploy/model_file.h"
#include "core/deploy/reference.h"
#include "core/nn/to_deploy.h"
#include "core/quant/export.h"
#include "core/util/error.h"
#include "models/registry.h"

namespace r2q::deploy {
namespace {

quant::QuantConfig r2q_w2a2() {
  return {"r2q", 2, 2, 8};
}

// A model with trained-looking state: a few SGD steps on random labels (quantizer scales initialised and
// moved, BatchNorm running statistics away from 0 / 1), BatchNorm affine parameters randomised, eval mode.
models::NetworkPtr trained_model(const std::string& name, const nn::InputShape& shape,
                                 const quant::QuantConfig& quant) {
  torch::manual_seed(7);
  models::NetworkPtr model = models::build_model(name, shape, quant::LayerFactory(quant));
  model->train();
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.02).momentum(0.9));
  for (int step = 0; step < 4; ++step) {
    torch::Tensor x = torch::rand({8, shape.channels, shape.height, shape.width});
    torch::Tensor y = torch::randint(shape.classes, {8}, torch::kLong);
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(x), y).backward();
    sgd.step();
  }
  torch::NoGradGuard no_grad;
  for (auto& m : model->modules(/*include_self=*/false))
    if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.3, 0.3);
    }
  model->eval();
  return model;
}

FloatBatch to_batch(const torch::Tensor& t) {
  FloatBatch b(t.size(0), {t.size(1), t.dim() > 2 ? t.size(2) : 1, t.dim() > 3 ? t.size(3) : 1});
  torch::Tensor c = t.contiguous().to(torch::kFloat32);
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), b.data.begin());
  return b;
}

std::size_t layer_index(const Model& model, const std::string& name) {
  for (std::size_t i = 0; i < model.layers.size(); ++i)
    if (model.layers[i].name == name) return i;
  ADD_FAILURE() << "no layer " << name;
  return 0;
}

// Images of 8-bit pixels as the model input holds them, p / 255 in float32 (the exported first layer takes
// their codes).
torch::Tensor pixels(const std::vector<int64_t>& sizes) {
  const torch::Tensor p = torch::randint(0, 256, sizes, torch::kInt32).contiguous();
  std::vector<float> v;
  for (int64_t i = 0; i < p.numel(); ++i) v.push_back(static_cast<float>(p.data_ptr<int32_t>()[i]) / 255.0f);
  return torch::tensor(v).view(sizes);
}

struct Exported {
  Model model;
  ReferenceResult reference;  // on the compared batch, with accumulators and values
};

// Exports `model`, runs the reference on `x`, and checks the logits against torch's.
Exported export_and_compare(nn::Network& model, const torch::Tensor& x, const std::string& what) {
  const Shape input{x.size(1), x.size(2), x.size(3)};
  Model exported = to_deploy_model(model, input);
  EXPECT_FALSE(exported.metadata.contains("float_inputs")) << exported.metadata.dump();
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = model.forward(x);
  }
  ReferenceResult r = run_reference(exported, to_batch(x), {.keep_accumulators = true, .keep_values = true});
  torch::Tensor got = torch::tensor(r.logits.data).view(expected.sizes());
  const double range = (expected.max() - expected.min()).item<double>();
  const double diff = (got - expected).abs().max().item<double>();
  std::cout << "[ export ] " << what << ": logit range " << range << ", max |reference - torch| " << diff
            << " (" << diff / range << " of the range)\n";
  EXPECT_LE(diff, 1e-4 * range) << what;
  return {std::move(exported), std::move(r)};
}

// Checks layer `name`'s reference accumulators against torch's convolution of the integer codes of its
// torch-side input `torch_input` and of its weights.
void expect_exact_accumulators(const Model& exported, const ReferenceResult& r,
                               const quant::QConv2dImpl& conv, const std::string& name,
                               const torch::Tensor& torch_input) {
  const std::size_t index = layer_index(exported, name);
  const Layer& layer = exported.layers[index];
  ASSERT_TRUE(layer.conv.integer()) << name;
  EXPECT_EQ(layer.conv.weights.format, WeightFormat::OddPlanes);
  EXPECT_EQ(layer.conv.input_quant.kind, ActKind::Unsigned);
  EXPECT_EQ(layer.conv.input_quant.bits, 2);
  torch::NoGradGuard no_grad;
  // The codes the torch layer computes for its input are the ones the IR's rule gives for the IR's input.
  torch::Tensor codes = quant::activation_codes(torch_input, conv.input_quantizer());
  const FloatBatch& ir_input = r.values.at(layer.inputs[0]);
  IntBatch ir_codes = quantize_batch(ir_input, layer.conv.input_quant);
  torch::Tensor ir_codes_t = torch::tensor(ir_codes.data).view(codes.sizes());
  EXPECT_TRUE(torch::equal(codes, ir_codes_t))
      << name << ": " << (codes != ir_codes_t).sum().item<int64_t>() << " codes differ";
  auto weights = quant::export_weights(conv.weight, conv.weight_quantizer());
  ASSERT_TRUE(weights.has_value());
  const auto& s = conv.spec();
  torch::Tensor acc = torch::conv2d(codes.to(torch::kFloat64), weights->codes.to(torch::kFloat64), {},
                                    s.stride, s.padding, 1, s.groups);
  const IntBatch& ir_acc = r.accumulators.at(index);
  torch::Tensor ir_acc_t = torch::tensor(ir_acc.data).view(acc.sizes()).to(torch::kFloat64);
  EXPECT_TRUE(torch::equal(acc, ir_acc_t))
      << name << ": " << (acc != ir_acc_t).sum().item<int64_t>() << " accumulators differ";
  EXPECT_GT(acc.abs().max().item<double>(), 0) << "a trivial layer proves nothing";
}

void expect_round_trip(const Model& exported, const std::string& stem) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("r2q_export_test_" + stem + "_" + std::to_string(::getpid()) + ".r2q");
  write_model(path, exported);
  EXPECT_EQ(read_model(path), exported);
  std::filesystem::remove(path);
}

template <typename T>
T& module(nn::Network& model, const std::string& name) {
  auto m = model.named_modules()[name];
  T* typed = m->as<T>();
  if (!typed) throw std::logic_error("module " + name + " has another type");
  return *typed;
}

TEST(Export, LeNetR2qW2A2MatchesTorch) {
  const nn::InputShape shape{1, 28, 28, 10, {0.3}, {0.4}};
  auto model = trained_model("lenet", shape, r2q_w2a2());
  torch::manual_seed(1);
  torch::Tensor x = pixels({4, 1, 28, 28});
  auto [exported, r] = export_and_compare(*model, x, "lenet r2q W2A2");
  // First layer: 8-bit LSQ weights on the pixel codes with the normalisation folded in (the normalize layer
  // is gone); last layer: 8-bit weights and inputs.
  const Layer& conv1 = exported.layers[layer_index(exported, "conv1")];
  EXPECT_EQ(conv1.conv.weights.format, WeightFormat::IntCodes);
  EXPECT_EQ(conv1.conv.weights.bits, 8);
  EXPECT_EQ(conv1.conv.input_quant, pixel_codes());
  EXPECT_TRUE(conv1.conv.input_affine.on);
  EXPECT_EQ(conv1.inputs, std::vector<int>{kInputValue});
  for (const Layer& l : exported.layers) EXPECT_NE(l.op, Op::Normalize);
  const Layer& fc3 = exported.layers[layer_index(exported, "fc3")];
  EXPECT_EQ(fc3.conv.weights.format, WeightFormat::IntCodes);
  EXPECT_EQ(fc3.conv.input_quant.kind, ActKind::Unsigned);
  EXPECT_EQ(fc3.conv.input_quant.bits, 8);
  EXPECT_EQ(exported.metadata["classes"], 10);

  torch::NoGradGuard no_grad;
  torch::Tensor h = module<nn::NormalizeImpl>(*model, "normalize").forward(x);
  h = torch::max_pool2d(torch::relu(module<quant::QConv2dImpl>(*model, "conv1").forward(h)), 2);
  expect_exact_accumulators(exported, r, module<quant::QConv2dImpl>(*model, "conv2"), "conv2", h);
  expect_round_trip(exported, "lenet");
}

TEST(Export, ResNet20R2qW2A2MatchesTorch) {
  // 16x16 keeps the scalar reference quick; the stages still run at 16, 8 and 4 with both option-A shortcuts.
  const nn::InputShape shape{3, 16, 16, 10, {0.5, 0.4, 0.3}, {0.25, 0.2, 0.3}};
  auto model = trained_model("resnet20", shape, r2q_w2a2());
  torch::manual_seed(1);
  torch::Tensor x = pixels({2, 3, 16, 16});
  auto [exported, r] = export_and_compare(*model, x, "resnet20 r2q W2A2");
  const Layer& shortcut = exported.layers[layer_index(exported, "stage2.0.shortcut")];
  EXPECT_EQ(shortcut.op, Op::ChannelPadSubsample);
  EXPECT_EQ(shortcut.shortcut.stride, 2);
  EXPECT_EQ(shortcut.shortcut.pad_before, 8);
  EXPECT_EQ(shortcut.shortcut.pad_after, 8);

  torch::NoGradGuard no_grad;
  torch::Tensor h = module<nn::NormalizeImpl>(*model, "normalize").forward(x);
  h = module<quant::QConv2dImpl>(*model, "stem").forward(h);
  h = torch::relu(module<torch::nn::BatchNorm2dImpl>(*model, "stem_bn").forward(h));
  expect_exact_accumulators(exported, r, module<quant::QConv2dImpl>(*model, "stage1.0.conv1"),
                            "stage1.0.conv1", h);
  // Every quantized layer past the first has an integer accumulator.
  int integer = 0;
  for (const auto& l : exported.layers)
    integer += (l.op == Op::Conv2d || l.op == Op::Linear) && l.conv.integer();
  EXPECT_EQ(integer, 20);  // the stem on pixel codes, 18 block convolutions and the classifier
  expect_round_trip(exported, "resnet20");
}

TEST(Export, Fp32ModelsMatchTorch) {
  for (const std::string name : {"lenet", "resnet20"}) {
    const bool lenet = name == "lenet";
    const nn::InputShape shape = lenet ? nn::InputShape{1, 28, 28, 10, {0.3}, {0.4}}
                                       : nn::InputShape{3, 16, 16, 10, {0.5, 0.4, 0.3}, {0.25, 0.2, 0.3}};
    auto model = trained_model(name, shape, quant::QuantConfig{});
    torch::manual_seed(1);
    torch::Tensor x = pixels({2, shape.channels, shape.height, shape.width});
    Model exported = export_and_compare(*model, x, name + " fp32").model;
    for (const auto& l : exported.layers)
      if (l.op == Op::Conv2d || l.op == Op::Linear) {
        EXPECT_EQ(l.conv.weights.format, WeightFormat::Float) << l.name;
        EXPECT_EQ(l.conv.input_quant.kind, ActKind::None) << l.name;
      }
    expect_round_trip(exported, name + "_fp32");
  }
}

TEST(Export, MobileNetV2SqueezeNetAndResNet18R2qW2A2MatchTorch) {
  const nn::InputShape shape{3, 16, 16, 10, {0.5, 0.4, 0.3}, {0.25, 0.2, 0.3}};
  for (const std::string name : {"mobilenetv2", "squeezenet", "resnet18"}) {
    auto model = trained_model(name, shape, r2q_w2a2());
    torch::manual_seed(1);
    Model exported = export_and_compare(*model, pixels({2, 3, 16, 16}), name + " r2q W2A2").model;
    expect_round_trip(exported, name);
  }
}

// Every other method with an integer grid exports. LSQ's rounding is the IR's, so it is exact; a layer whose
// quantizer rounds otherwise (or has no integer grid) gets a float input and is listed with the reason.
TEST(Export, OtherMethodsExportExactlyOrListTheirFloatInputs) {
  const nn::InputShape shape{1, 28, 28, 10, {0.3}, {0.4}};
  for (const std::string method : {"lsq", "dorefa", "pact", "apot", "lqnet"}) {
    auto model = trained_model("lenet", shape, {method, 2, 2, 8});
    torch::manual_seed(1);
    torch::Tensor x = pixels({2, 1, 28, 28});
    Model exported = to_deploy_model(*model, {1, 28, 28});
    if (!exported.metadata.contains("float_inputs")) {
      EXPECT_NE(method, "lqnet") << "learned bases have no integer grid";
      export_and_compare(*model, x, "lenet " + method + " W2A2");
      continue;
    }
    EXPECT_NE(method, "lsq");
    for (const auto& f : exported.metadata["float_inputs"]) {
      std::cout << "[ export ] lenet " << method << ": float input at " << f["layer"] << ": " << f["reason"]
                << "\n";
      EXPECT_FALSE(f["reason"].get<std::string>().empty());
      const Layer& l = exported.layers[layer_index(exported, f["layer"].get<std::string>())];
      EXPECT_EQ(l.conv.input_quant.kind, ActKind::None);
    }
    expect_round_trip(exported, method);
  }
}

TEST(Export, UnsupportedModelsAndMethodsAreInputErrors) {
  struct Identity : nn::Network {
    torch::Tensor forward(const torch::Tensor& pixels) override { return pixels; }
  } identity;
  identity.eval();
  try {
    to_deploy_model(identity, {10, 1, 1});
    FAIL() << "a network without to_deploy";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be exported yet"), std::string::npos) << e.what();
  }
  auto xnor = trained_model("lenet", {1, 28, 28, 10, {0.5}, {0.5}}, {"xnor", 1, 1, 8});
  try {
    to_deploy_model(*xnor, {1, 28, 28});
    FAIL() << "XNOR-Net's output scale has no IR form";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("input-dependent"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace r2q::deploy
