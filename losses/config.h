// The loss settings of a run (the "loss" object of its config, DESIGN §1.4).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace r2q::losses {

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

// Reads config["loss"] of a resolved run config.
LossConfig loss_config_from(const nlohmann::json& config);

}  // namespace r2q::losses
