// Model shapes, parameter counts and the input normalisation layer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/nn/network.h"
#include "core/util/error.h"
#include "models/registry.h"
#include "tests/support/parameter_count.h"

namespace r2q::models {
namespace {

using testing::parameter_count;

TEST(ResNet20, ShapesForGreyAndColourInputs) {
  torch::manual_seed(0);
  auto grey = build_model("resnet20", {1, 28, 28, 10, {0.5}, {0.5}});
  EXPECT_EQ(grey->forward(torch::rand({2, 1, 28, 28})).sizes(), torch::IntArrayRef({2, 10}));
  auto colour = build_model("resnet20", {3, 32, 32, 100, {0.5, 0.5, 0.5}, {0.2, 0.2, 0.2}});
  EXPECT_EQ(colour->forward(torch::rand({1, 3, 32, 32})).sizes(), torch::IntArrayRef({1, 100}));
  auto odd = build_model("resnet20", {3, 17, 23, 10, {0.5, 0.5, 0.5}, {0.2, 0.2, 0.2}});
  EXPECT_EQ(odd->forward(torch::rand({2, 3, 17, 23})).sizes(), torch::IntArrayRef({2, 10}));
}

TEST(ResNet20, HasTheParameterCountOfThePaper) {
  // He et al. report 0.27M parameters for ResNet-20 on CIFAR-10 (option-A shortcuts): 269,722 exactly.
  auto m = build_model("resnet20", {3, 32, 32, 10, {0, 0, 0}, {1, 1, 1}});
  EXPECT_EQ(parameter_count(*m), 269722);
}

TEST(LeNet, ShapesAndTooSmallInputs) {
  auto m = build_model("lenet", {1, 28, 28, 10, {0.5}, {0.5}});
  EXPECT_EQ(m->forward(torch::rand({4, 1, 28, 28})).sizes(), torch::IntArrayRef({4, 10}));
  auto c = build_model("lenet", {3, 32, 32, 10, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}});
  EXPECT_EQ(c->forward(torch::rand({1, 3, 32, 32})).sizes(), torch::IntArrayRef({1, 10}));
  EXPECT_THROW(build_model("lenet", {1, 8, 8, 10, {0.5}, {0.5}}), InputError);
}

TEST(Registry, UnknownModelListsTheKnownOnes) {
  try {
    build_model("resnet21", {});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean \"resnet20\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("known: lenet, mobilenetv2, resnet18, resnet20, squeezenet"),
              std::string::npos)
        << e.what();
  }
}

TEST(Normalize, SubtractsMeanAndDividesByStdPerChannel) {
  Normalize n(std::vector<double>{0.5, 0.25}, std::vector<double>{0.5, 0.25});
  auto x = torch::full({1, 2, 1, 1}, 1.0f);
  auto y = n(x);
  EXPECT_FLOAT_EQ(y[0][0][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(y[0][1][0][0].item<float>(), 3.0f);
  // Statistics are buffers: they are saved with the model.
  EXPECT_EQ(n->buffers().size(), 2u);
}

}  // namespace
}  // namespace r2q::models
