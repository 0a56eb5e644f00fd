// The devices a run can train on, and what a run records about its device: a CPU run and a GPU run of one
// config are different results (other kernels), so the device is in the run key (config field `device`) and
// its details are in the run's environment.
#pragma once

#include <torch/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace r2q::train {

// "cpu", and "cuda:N (NAME)" for each GPU this LibTorch can use.
std::vector<std::string> training_devices();

// The run's device as the store records it: {"type": "cpu"}, or for a GPU its name, compute capability,
// memory, and the CUDA and cuDNN versions LibTorch was built with, and whether deterministic algorithms were
// on.
nlohmann::json device_facts(const torch::Device& device, bool deterministic);

// Applies the `deterministic` execution setting: cuDNN's deterministic algorithms, without autotuning.
void set_deterministic(bool on);

}  // namespace r2q::train
