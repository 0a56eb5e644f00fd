// The models `r2q bench` measures: an exported model file, or a built-in architecture with random weights
// quantized as asked; and the LibTorch eager fp32 baseline of the same architecture.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "core/deploy/model.h"
#include "core/nn/network.h"
#include "core/quant/layers.h"

namespace r2q::cli {

struct BenchModel {
  std::string label;    // what was measured, for the report
  deploy::Model model;  // the deployment model
  std::string arch;     // the architecture's registered name, for the eager baseline ("" if unknown)
  nn::InputShape shape;
};

// A model file written by `r2q export` (its metadata names the architecture).
BenchModel bench_model_from_file(const std::filesystem::path& path);

// Architecture `arch` quantized by `quant`, for inputs `input` ("CxHxW", or "" for the architecture's usual
// dataset shape) and `classes` (0: the usual), with random weights after a few SGD steps on random data (so
// every quantizer is initialised and BatchNorm has running statistics). Timing does not depend on the values.
BenchModel bench_model_from_arch(const std::string& arch, const quant::QuantConfig& quant,
                                 const std::string& input, int classes);

// One LibTorch eager fp32 inference (no_grad, eval mode) of `model.arch` on `batch` random images, as a call
// that holds the network and the input; LibTorch's threads are set by set_eager_threads.
std::function<void()> eager_fp32_runner(const BenchModel& model, int batch);
void set_eager_threads(int threads);

}  // namespace r2q::cli
