// Typed settings from a resolved run config.
#include "core/spec/run_config.h"

#include "core/spec/spec.h"
#include "core/spec/teacher.h"
#include "core/util/error.h"

namespace r2q::spec {

namespace {

RunConfig parse(const nlohmann::json& c, const nlohmann::json& execution) {
  RunConfig r;
  const auto& d = c.at("dataset");
  r.dataset.name = d.at("name").get<std::string>();
  if (const nlohmann::json* root = find_path(execution, "dataset.root"); root && root->is_string())
    r.dataset.root = root->get<std::string>();
  r.dataset.train_limit = d.at("train_limit").get<std::int64_t>();
  r.dataset.test_limit = d.at("test_limit").get<std::int64_t>();
  r.dataset.val_size = d.at("val_size").get<std::int64_t>();
  r.dataset.image_size = d.at("image_size").get<std::int64_t>();

  r.model = c.at("model").at("name").get<std::string>();

  const auto& q = c.at("quant");
  r.quant = {q.at("method").get<std::string>(), q.at("weight_bits").get<int>(), q.at("act_bits").get<int>(),
             q.at("first_last_bits").get<int>()};

  r.seed = c.at("seed").get<std::uint64_t>();
  r.device = c.at("device").get<std::string>();
  if (const nlohmann::json* threads = find_path(execution, "threads");
      threads && threads->is_number_integer())
    r.threads = threads->get<int>();
  if (const nlohmann::json* d = find_path(execution, "deterministic"); d && d->is_boolean())
    r.deterministic = d->get<bool>();

  const auto& t = c.at("train");
  r.train.epochs = t.at("epochs").get<int>();
  r.train.batch_size = t.at("batch_size").get<std::int64_t>();
  r.train.optimizer = t.at("optimizer").get<std::string>();
  r.train.schedule = t.at("schedule").get<std::string>();
  r.train.lr = t.at("lr").get<double>();
  r.train.momentum = t.at("momentum").get<double>();
  r.train.weight_decay = t.at("weight_decay").get<double>();
  r.train.augment = t.at("augment").get<bool>();
  r.train.seed = r.seed;
  r.train.ce_weight = c.at("loss").at("ce").get<double>();
  r.train.init_from_teacher = init_from_teacher(c);

  const auto& l = c.at("loss");
  r.loss.ce = l.at("ce").get<double>();
  r.loss.kd = l.at("kd").get<double>();
  r.loss.kd_temperature = l.at("kd_temperature").get<double>();
  r.loss.structural = l.at("structural").get<double>();
  r.loss.structural_angle = l.at("structural_angle").get<double>();
  r.loss.adversarial = l.at("adversarial").get<double>();
  r.loss.lipschitz_mode = l.at("lipschitz").at("mode").get<std::string>();
  r.loss.lipschitz_weight = l.at("lipschitz").at("weight").get<double>();
  r.loss.n_critic = l.at("n_critic").get<int>();
  r.loss.critic_lr = l.at("critic_lr").get<double>();
  r.loss.perturbation = l.at("perturbation").get<double>();
  r.loss.perturbation_delta = l.at("perturbation_delta").get<std::string>();
  r.loss.train_eps = l.at("train_eps").get<double>();
  r.loss.spectral = l.at("spectral").get<double>();
  r.loss.power_iterations = l.at("power_iterations").get<int>();

  const auto& e = c.at("eval");
  r.eval.fgsm_eps = e.at("fgsm_eps").get<std::vector<double>>();
  r.eval.pgd_eps = e.at("pgd").at("eps").get<std::vector<double>>();
  r.eval.pgd_steps = e.at("pgd").at("steps").get<int>();
  r.eval.pgd_step_size = e.at("pgd").at("step_size").get<double>();
  r.eval.transfer = e.at("transfer").get<bool>();
  if (e.at("backend").is_string()) r.eval.backend = e.at("backend").get<std::string>();
  return r;
}

}  // namespace

RunConfig run_config(const nlohmann::json& config, const nlohmann::json& execution) {
  try {
    return parse(config, execution);
  } catch (const nlohmann::json::exception& e) {
    // Only a config that did not come through the schema (a damaged or hand-made store row) gets here.
    const std::string what = e.what();
    throw InputError("the run config is incomplete or malformed (" + what.substr(what.find(']') + 2) + ")");
  }
}

}  // namespace r2q::spec
