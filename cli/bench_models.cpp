// The models `r2q bench` measures.
#include "cli/bench_models.h"

#include <torch/torch.h>

#include "cli/common.h"
#include "core/deploy/model_file.h"
#include "core/nn/to_deploy.h"
#include "core/quant/registry.h"
#include "core/util/error.h"
#include "core/util/text.h"
#include "models/registry.h"

namespace r2q::cli {
namespace {

// The usual input of each architecture: the dataset it is built for.
nn::InputShape usual_shape(const std::string& arch) {
  if (arch == "lenet") return {1, 28, 28, 10, {0.286}, {0.353}};  // Fashion-MNIST
  if (arch == "resnet18")
    return {3, 224, 224, 1000, {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};  // ImageNet
  return {3, 32, 32, 10, {0.491, 0.482, 0.447}, {0.247, 0.243, 0.262}};        // CIFAR-10
}

nn::InputShape parse_input(const std::string& text, nn::InputShape shape) {
  const std::vector<std::string> parts = split(text, 'x');
  int dims[3] = {0, 0, 0};
  bool ok = parts.size() == 3;
  for (std::size_t i = 0; ok && i < 3; ++i) {
    try {
      std::size_t used = 0;
      dims[i] = std::stoi(parts[i], &used);
      ok = used == parts[i].size() && dims[i] >= 1 && dims[i] <= 4096;
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok) throw UsageError("--input: " + quoted_value(text) + " (expected CxHxW, e.g. 3x32x32)");
  if (dims[0] != shape.channels) {
    shape.mean.assign(static_cast<std::size_t>(dims[0]), 0.5);
    shape.std.assign(static_cast<std::size_t>(dims[0]), 0.25);
  }
  shape.channels = dims[0];
  shape.height = dims[1];
  shape.width = dims[2];
  return shape;
}

}  // namespace

BenchModel bench_model_from_file(const std::filesystem::path& path) {
  BenchModel b;
  b.model = deploy::read_model(path);
  b.label = path.string();
  const nlohmann::json& m = b.model.metadata;
  if (m.contains("model") && m["model"].is_string()) b.arch = m["model"].get<std::string>();
  if (!models::model_registry().contains(b.arch)) b.arch.clear();
  b.shape.channels = static_cast<int>(b.model.input.c);
  b.shape.height = static_cast<int>(b.model.input.h);
  b.shape.width = static_cast<int>(b.model.input.w);
  b.shape.mean.assign(static_cast<std::size_t>(b.shape.channels), 0.5);
  b.shape.std.assign(static_cast<std::size_t>(b.shape.channels), 0.25);
  if (m.contains("classes") && m["classes"].is_number_integer()) b.shape.classes = m["classes"].get<int>();
  if (m.contains("run_key") && m["run_key"].is_string())
    b.label += " (run " + m["run_key"].get<std::string>().substr(0, 12) + ")";
  return b;
}

BenchModel bench_model_from_arch(const std::string& arch, const quant::QuantConfig& quant,
                                 const std::string& input, int classes) {
  models::model_registry().get(arch);  // an unknown name lists the known ones
  quant::check_supported(quant);
  BenchModel b;
  b.arch = arch;
  b.shape = input.empty() ? usual_shape(arch) : parse_input(input, usual_shape(arch));
  if (classes < 0 || classes > 100000) throw UsageError("--classes: " + std::to_string(classes));
  if (classes > 0) b.shape.classes = classes;

  torch::manual_seed(0);
  models::NetworkPtr net = models::build_model(arch, b.shape, quant::LayerFactory(quant));
  net->train();
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  for (int step = 0; step < 3; ++step) {
    torch::Tensor x = torch::rand({4, b.shape.channels, b.shape.height, b.shape.width});
    torch::Tensor y = torch::randint(b.shape.classes, {4}, torch::kLong);
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    sgd.step();
  }
  net->eval();
  b.model = nn::to_deploy_model(*net, {b.shape.channels, b.shape.height, b.shape.width});
  b.label = arch + " " + quant.method;
  if (quant.method != "fp32")
    b.label += " W" + std::to_string(quant.weight_bits) + "A" + std::to_string(quant.act_bits) +
               " (first/last " + std::to_string(quant.first_last_bits) + " bits)";
  b.label += ", random weights, input " + std::to_string(b.shape.channels) + "x" +
             std::to_string(b.shape.height) + "x" + std::to_string(b.shape.width);
  return b;
}

std::function<void()> eager_fp32_runner(const BenchModel& model, int batch) {
  torch::manual_seed(0);
  models::NetworkPtr net = models::build_model(model.arch, model.shape, quant::LayerFactory{});
  net->eval();
  const torch::Tensor x = torch::rand({batch, model.shape.channels, model.shape.height, model.shape.width});
  return [net, x] {
    torch::NoGradGuard no_grad;
    net->forward(x);
  };
}

void set_eager_threads(int threads) {
  torch::set_num_threads(threads);
}

}  // namespace r2q::cli
