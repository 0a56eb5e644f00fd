// A resolved run config as typed settings, parsed once: what the runner, the trainer and the losses read
// instead of walking the JSON. The schema (schema.cpp) has validated every field before it gets here; the
// defaults below are those of a default-constructed setting, not the schema's.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace r2q::spec {

struct DataConfig {
  std::string name;
  std::optional<std::string> root;  // null: R2Q_DATA_DIR/<name>, else the dataset's default (execution)
  std::int64_t train_limit = 0, test_limit = 0, val_size = 0, image_size = 0;
};

struct QuantConfig {
  std::string method = "fp32";
  int weight_bits = 32, act_bits = 32, first_last_bits = 32;
};

struct TrainConfig {
  int epochs = 1;
  std::int64_t batch_size = 128;
  std::string optimizer = "sgd";
  std::string schedule = "cosine";
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4;
  bool augment = false;
  std::uint64_t seed = 0;
  double ce_weight = 1.0;          // loss.ce, which the trainer's own objective uses when none is given
  bool channels_last = true;       // NHWC weights and inputs (faster here, same results)
  bool init_from_teacher = false;  // train.init resolved: start from the FP32 teacher's weights
};

// The loss settings (DESIGN §1.4).
struct LossConfig {
  double ce = 1.0;
  double kd = 0.0, kd_temperature = 4.0;
  double structural = 0.0, structural_angle = 0.0;
  double adversarial = 0.0;
  std::string lipschitz_mode = "gp";  // gp | spectral | none
  double lipschitz_weight = 10.0;
  int n_critic = 5;
  double critic_lr = 1e-4;
  double perturbation = 0.0;
  std::string perturbation_delta = "fgsm";  // fgsm | uniform
  double train_eps = 0.0;
  double spectral = 0.0;
  int power_iterations = 1;
};

struct EvalConfig {
  std::vector<double> fgsm_eps;
  std::vector<double> pgd_eps;
  int pgd_steps = 10;
  double pgd_step_size = 0;  // 0 = eps / 4
  bool transfer = false;
  std::optional<std::string> backend;  // a deployment backend to evaluate on, or none
};

struct RunConfig {
  DataConfig dataset;
  std::string model;
  QuantConfig quant;
  TrainConfig train;
  LossConfig loss;
  EvalConfig eval;
  std::uint64_t seed = 0;
  std::string device = "cpu";
  int threads = 0;             // execution: 0 = all cores
  bool deterministic = false;  // execution: cuDNN's deterministic algorithms on a GPU
};

// Parses a resolved run config and its execution fields (RunSpec::config, RunSpec::execution). A config that
// lacks a field or has one of another type (only a damaged store row can) is an InputError.
RunConfig run_config(const nlohmann::json& config,
                     const nlohmann::json& execution = nlohmann::json::object());

}  // namespace r2q::spec
