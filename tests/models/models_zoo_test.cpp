// MobileNetV2, SqueezeNet and ResNet-18: shapes, parameter counts, quantized training passes and signedness.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/nn/network.h"
#include "core/quant/layers.h"
#include "models/registry.h"
#include "tests/support/parameter_count.h"

namespace r2q::models {
namespace {

using testing::parameter_count;

InputShape colour(int size, int classes = 10) {
  return {3, size, size, classes, {0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}};
}
InputShape grey(int size) {
  return {1, size, size, 10, {0.5}, {0.5}};
}

TEST(ZooShapes, MobileNetV2AndSqueezeNetForCifarAndFashionMnist) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  for (const char* name : {"mobilenetv2", "squeezenet"}) {
    auto c = build_model(name, colour(32));
    EXPECT_EQ(c->forward(torch::rand({2, 3, 32, 32})).sizes(), torch::IntArrayRef({2, 10})) << name;
    auto g = build_model(name, grey(28));
    EXPECT_EQ(g->forward(torch::rand({2, 1, 28, 28})).sizes(), torch::IntArrayRef({2, 10})) << name;
  }
}

TEST(ZooShapes, ResNet18ForSmallAndImageNetInputs) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  auto small = build_model("resnet18", colour(64, 200));
  EXPECT_EQ(small->forward(torch::rand({2, 3, 64, 64})).sizes(), torch::IntArrayRef({2, 200}));
  auto imagenet = build_model("resnet18", colour(224, 1000));
  imagenet->eval();
  EXPECT_EQ(imagenet->forward(torch::rand({1, 3, 224, 224})).sizes(), torch::IntArrayRef({1, 1000}));
}

TEST(ZooParameters, ResNet18MatchesTorchvision) {
  // torchvision.models.resnet18(num_classes=1000): 11,689,512 parameters.
  EXPECT_EQ(parameter_count(*build_model("resnet18", colour(224, 1000))), 11689512);
}

TEST(ZooParameters, MobileNetV2Cifar) {
  // Convolutions have no bias; each BatchNorm adds 2 per channel. A block (in -> out, expansion t, hidden h =
  // t in): expand in*h + 2h (t != 1 only), depthwise 9h + 2h, project h*out + 2out.
  //   stem 3*32*9 + 64                                                          =       928
  //   32->16,   t=1 (h 32):  288 + 64 + 512 + 32                                =       896
  //   16->24    (h 96):      1536 + 192 + 864 + 192 + 2304 + 48                 =     5,136
  //   24->24    (h 144):     3456 + 288 + 1296 + 288 + 3456 + 48                =     8,832
  //   24->32    (h 144):     3456 + 288 + 1296 + 288 + 4608 + 64                =    10,000
  //   32->32 x2 (h 192):     2 * (6144 + 384 + 1728 + 384 + 6144 + 64)          =    29,696
  //   32->64    (h 192):     6144 + 384 + 1728 + 384 + 12288 + 128              =    21,056
  //   64->64 x3 (h 384):     3 * (24576 + 768 + 3456 + 768 + 24576 + 128)       =   162,816
  //   64->96    (h 384):     24576 + 768 + 3456 + 768 + 36864 + 192             =    66,624
  //   96->96 x2 (h 576):     2 * (55296 + 1152 + 5184 + 1152 + 55296 + 192)     =   236,544
  //   96->160   (h 576):     55296 + 1152 + 5184 + 1152 + 92160 + 320           =   155,264
  //   160->160 x2 (h 960):   2 * (153600 + 1920 + 8640 + 1920 + 153600 + 320)   =   640,000
  //   160->320  (h 960):     153600 + 1920 + 8640 + 1920 + 307200 + 640         =   473,920
  //   head 320*1280 + 2560                                                      =   412,160
  //   classifier 1280*10 + 10                                                   =    12,810
  //                                                                       total = 2,236,682
  // Cross-check: torchvision's mobilenet_v2 (same layers; strides do not change counts) has 3,504,872 with
  // 1000 classes; 3,504,872 - 1281*1000 + 1281*10 = 2,236,682.
  EXPECT_EQ(parameter_count(*build_model("mobilenetv2", colour(32))), 2236682);
}

TEST(ZooParameters, SqueezeNetCifar) {
  // Convolutions have no bias and are followed by BatchNorm (2 per channel), except the classifier (bias, no
  // BN). A fire module (in, squeeze s, expand e): in*s + 2s + s*e + 2e + 9*s*e + 2e = in*s + 2s + 10*s*e +
  // 4e.
  //   stem 3*64*9 + 128                                       =   1,856
  //   fire2 (64, 16, 64):    1024 + 32 + 10240 + 256          =  11,552
  //   fire3 (128, 16, 64):   2048 + 32 + 10240 + 256          =  12,576
  //   fire4 (128, 32, 128):  4096 + 64 + 40960 + 512          =  45,632
  //   fire5 (256, 32, 128):  8192 + 64 + 40960 + 512          =  49,728
  //   fire6 (256, 48, 192):  12288 + 96 + 92160 + 768         = 105,312
  //   fire7 (384, 48, 192):  18432 + 96 + 92160 + 768         = 111,456
  //   fire8 (384, 64, 256):  24576 + 128 + 163840 + 1024      = 189,568
  //   fire9 (512, 64, 256):  32768 + 128 + 163840 + 1024      = 197,760
  //   classifier 512*10 + 10                                  =   5,130
  //                                                     total = 730,570
  // Cross-check: torchvision's squeezenet1_1 (conv biases, no BatchNorm, 1000 classes) has 1,235,496.
  // BatchNorm instead of biases adds s + 2e per fire (2,880 in all) and 64 in the stem; the classifier loses
  // 507,870: 1,235,496 + 2,880 + 64 - 507,870 = 730,570.
  EXPECT_EQ(parameter_count(*build_model("squeezenet", colour(32))), 730570);
}

// Every conv and linear layer comes from the factory, with exactly one first and one last layer.
void expect_factory_layers(Network& m, const std::string& label) {
  int first = 0, last = 0;
  for (const auto& mod : m.modules(false)) {
    EXPECT_EQ(mod->as<torch::nn::Conv2dImpl>(), nullptr) << label;
    EXPECT_EQ(mod->as<torch::nn::LinearImpl>(), nullptr) << label;
    std::optional<quant::Role> role;
    if (auto* c = mod->as<quant::QConv2dImpl>()) role = c->spec().role;
    if (auto* l = mod->as<quant::QLinearImpl>()) role = l->spec().role;
    first += role == quant::Role::First;
    last += role == quant::Role::Last;
  }
  EXPECT_EQ(first, 1) << label;
  EXPECT_EQ(last, 1) << label;
}

TEST(ZooQuantized, ForwardAndBackwardWithEveryKindOfMethod) {
  const quant::QuantConfig configs[] = {{"r2q", 2, 2, 8}, {"lsq", 2, 2, 8}, {"xnor", 1, 1, 8}};
  // Inputs that end at 2x2: with a batch of 2, BatchNorm over a 1x1 map sees 2 values per channel, normalises
  // them to +-1 whatever they are, and passes no gradient.
  for (const auto& config : configs)
    for (auto [name, size] : {std::pair{"mobilenetv2", 16}, {"squeezenet", 16}, {"resnet18", 64}}) {
      const std::string label = std::string(name) + " / " + config.method;
      torch::manual_seed(0);
      auto m = build_model(name, colour(size), quant::LayerFactory(config));
      expect_factory_layers(*m, label);
      auto logits = m->forward(torch::rand({2, 3, size, size}));
      ASSERT_EQ(logits.sizes(), torch::IntArrayRef({2, 10})) << label;
      EXPECT_TRUE(logits.isfinite().all().item<bool>()) << label;
      torch::nn::functional::cross_entropy(logits, torch::tensor({1, 7})).backward();
      int64_t with_grad = 0, weights = 0;
      for (const auto& mod : m->modules(false))
        if (auto* c = mod->as<quant::QConv2dImpl>()) {
          ++weights;
          with_grad += c->weight.grad().defined() && c->weight.grad().abs().sum().item<double>() > 0;
        }
      EXPECT_EQ(with_grad, weights) << label << ": every convolution gets a gradient";
    }
}

TEST(ZooQuantized, MobileNetV2QuantizesLinearBottlenecksAsSigned) {
  auto m = build_model("mobilenetv2", colour(32), quant::LayerFactory(quant::QuantConfig{"r2q", 2, 2, 8}));
  int expansions = 0, head = 0, after_activation = 0;
  for (const auto& item : m->named_modules()) {
    const std::string& name = item.key();
    auto* conv = dynamic_cast<quant::QConv2dImpl*>(item.value().get());
    if (!conv || conv->spec().role != quant::Role::Middle) continue;
    ASSERT_NE(conv->input_quantizer(), nullptr) << name;
    const bool expansion = name.ends_with(".expand");
    if (expansion || name == "head") {
      (expansion ? expansions : head)++;
      EXPECT_TRUE(conv->spec().input_signed) << name;
      EXPECT_LT(conv->input_quantizer()->min_code(), 0) << name;
    } else {
      // Depthwise and projection inputs follow ReLU6: unsigned codes use all levels on [0, clip].
      ++after_activation;
      EXPECT_FALSE(conv->spec().input_signed) << name;
      EXPECT_EQ(conv->input_quantizer()->min_code(), 0) << name;
    }
  }
  EXPECT_EQ(expansions, 16);  // every block but the first (t = 1) of the 17
  EXPECT_EQ(head, 1);
  EXPECT_EQ(after_activation, 2 * 17);
}

}  // namespace
}  // namespace r2q::models

namespace r2q::models {
namespace {

// The stage embeddings come from the same forward pass: same logits, one pooled vector per stage.
TEST(ZooStages, EveryModelReportsItsStageEmbeddings) {
  const std::vector<std::tuple<std::string, InputShape, std::vector<int64_t>>> cases = {
      {"lenet", InputShape{}, {6, 16, 84}},
      {"resnet20", InputShape{}, {16, 32, 64}},
      {"resnet18", InputShape{3, 64, 64, 10, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}}, {64, 128, 256, 512}},
      {"mobilenetv2", InputShape{3, 32, 32, 10, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}}, {24, 32, 96, 1280}},
      {"squeezenet", InputShape{3, 32, 32, 10, {0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}}, {}},
  };
  for (const auto& [name, shape, widths] : cases) {
    torch::manual_seed(0);
    auto model = build_model(name, shape);
    model->eval();
    torch::NoGradGuard no_grad;
    auto x = torch::rand({2, shape.channels, shape.height, shape.width});
    auto out = model->forward_with_stages(x);
    EXPECT_TRUE(torch::equal(out.logits, model->forward(x))) << name;
    ASSERT_GE(out.stages.size(), 2u) << name;
    std::vector<int64_t> got;
    for (const auto& s : out.stages) {
      EXPECT_EQ(s.dim(), 2) << name;
      EXPECT_EQ(s.size(0), 2) << name;
      got.push_back(s.size(1));
    }
    if (!widths.empty()) {
      EXPECT_EQ(got, widths) << name;
    }
    // Outside forward_with_stages nothing is collected.
    EXPECT_EQ(model->forward_with_stages(x).stages.size(), out.stages.size()) << name;
  }
}

}  // namespace
}  // namespace r2q::models
