// Loss settings from a run config.
#include "losses/config.h"

namespace r2q::losses {

LossConfig loss_config_from(const nlohmann::json& config) {
  const auto& l = config.at("loss");
  LossConfig c;
  c.ce = l.at("ce").get<double>();
  c.kd = l.at("kd").get<double>();
  c.kd_temperature = l.at("kd_temperature").get<double>();
  c.structural = l.at("structural").get<double>();
  c.structural_angle = l.at("structural_angle").get<double>();
  c.adversarial = l.at("adversarial").get<double>();
  c.lipschitz_mode = l.at("lipschitz").at("mode").get<std::string>();
  c.lipschitz_weight = l.at("lipschitz").at("weight").get<double>();
  c.n_critic = l.at("n_critic").get<int>();
  c.critic_lr = l.at("critic_lr").get<double>();
  c.perturbation = l.at("perturbation").get<double>();
  c.perturbation_delta = l.at("perturbation_delta").get<std::string>();
  c.train_eps = l.at("train_eps").get<double>();
  c.spectral = l.at("spectral").get<double>();
  c.power_iterations = l.at("power_iterations").get<int>();
  return c;
}

}  // namespace r2q::losses
