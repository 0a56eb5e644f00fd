// Training throughput of r2q's own loop (data pipeline + augmentation + forward/backward/SGD step) on
// ResNet-20, for comparison with the same model and step in Python PyTorch (bench/train_throughput.py).
// Usage: train_throughput [--threads N] [--batch B] [--batches K] [--model resnet20] [--method fp32|r2q|...]
//        [--bits 2] [--layout nhwc|nchw] [--device cpu|cuda] [--math native|portable]; prints one JSON line.
//        With a quantization method it measures the fake-quant training step. On a GPU the dataset is there
//        from the start (as in a run).
#include <ATen/Parallel.h>

#include <chrono>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/data/synthetic.h"
#include "core/quant/registry.h"
#include "core/train/threads.h"
#include "core/train/trainer.h"
#include "core/util/math_mode.h"
#include "models/registry.h"

int main(int argc, char** argv) {
  int threads = 2, batch = 128, batches = 30, warmup = 5, bits = 2;
  std::string model_name = "resnet20", method = "fp32", layout = "nhwc", device_name = "cpu";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--batch") {
      batch = std::stoi(value);
    } else if (flag == "--batches") {
      batches = std::stoi(value);
    } else if (flag == "--model") {
      model_name = value;
    } else if (flag == "--method") {
      method = value;
    } else if (flag == "--bits") {
      bits = std::stoi(value);
    } else if (flag == "--layout" && (value == "nhwc" || value == "nchw")) {
      layout = value;
    } else if (flag == "--device" && (value == "cpu" || value == "cuda")) {
      device_name = value;
    } else if (flag == "--math" && (value == "native" || value == "portable")) {
      // Before any kernel is chosen: portable restarts this program with its variables pinned, as r2q does.
      const std::string cause = r2q::restart_in_math_mode(r2q::parse_math_mode(value, "--math"), argv);
      if (!cause.empty()) {
        std::cerr << "train_throughput: --math portable: restart failed: " << cause << "\n";
        return 1;
      }
    } else {
      std::cerr << "train_throughput: bad flag " << flag << " " << value << "\n";
      return 2;
    }
  }
  at::set_num_interop_threads(1);
  r2q::train::configure_threads(threads);
  r2q::train::seed_everything(0);
  auto make = [&](int n) {
    return r2q::data::make_synthetic("bench", {1, 28, 10, static_cast<int64_t>(n) * batch, 1}).train;
  };
  const torch::Device device(device_name == "cuda" ? torch::kCUDA : torch::kCPU);
  auto warm_data = make(warmup), data = make(batches);
  for (r2q::data::Dataset* d : {&warm_data, &data}) {
    d->images = d->images.to(device);
    d->labels = d->labels.to(device);
  }
  r2q::quant::QuantConfig quant{method, bits, bits, 8};
  if (method == "fp32") quant = {"fp32", 32, 32, 32};
  r2q::quant::check_supported(quant);
  auto model =
      r2q::models::build_model(model_name, {1, 28, 28, 10, {0.5}, {0.25}}, r2q::quant::LayerFactory(quant));
  model->to(device);
  r2q::train::TrainConfig config;
  config.batch_size = batch;
  config.augment = true;
  config.schedule = "constant";
  config.channels_last = layout == "nhwc";
  r2q::train::Trainer(*model, config, warm_data.size()).train_epoch(warm_data, 1, nullptr, nullptr);
  r2q::train::Trainer trainer(*model, config, data.size());
  auto stats = trainer.train_epoch(data, 1, nullptr, nullptr);
  nlohmann::json out = {{"impl", "r2q (C++, data pipeline + augmentation included)"},
                        {"model", model_name},
                        {"method", method},
                        {"bits", method == "fp32" ? 32 : bits},
                        {"threads", threads},
                        {"layout", layout},
                        {"device", device_name},
                        {"math", r2q::math_environment()},
                        {"batch", batch},
                        {"batches", batches},
                        {"images_per_s", static_cast<double>(stats.images) / stats.seconds}};
  std::cout << out.dump() << std::endl;
  return 0;
}
