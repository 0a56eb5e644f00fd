// Executing one run.
#include "core/sweep/execute.h"

#include <torch/torch.h>

#include <chrono>

#include "core/data/registry.h"
#include "core/quant/registry.h"
#include "core/spec/teacher.h"
#include "core/sweep/deploy_eval.h"
#include "core/train/checkpoint.h"
#include "core/train/evaluate.h"
#include "core/train/metric_names.h"
#include "core/train/threads.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "losses/objective.h"
#include "models/registry.h"

namespace r2q::sweep {
namespace {

using nlohmann::json;

quant::QuantConfig quant_config(const json& c) {
  const json& q = c.at("quant");
  return {q.at("method").get<std::string>(), q.at("weight_bits").get<int>(), q.at("act_bits").get<int>(),
          q.at("first_last_bits").get<int>()};
}

data::DataOptions data_options(const spec::RunSpec& run) {
  const json& d = run.config.at("dataset");
  data::DataOptions o;
  o.name = d.at("name").get<std::string>();
  const json* root = spec::find_path(run.execution, "dataset.root");
  if (root && root->is_string()) o.root = root->get<std::string>();
  o.train_limit = d.at("train_limit").get<std::int64_t>();
  o.test_limit = d.at("test_limit").get<std::int64_t>();
  o.val_size = d.at("val_size").get<std::int64_t>();
  o.image_size = d.at("image_size").get<std::int64_t>();
  return o;
}

std::vector<double> float_list(const json& j) {
  return j.get<std::vector<double>>();
}

// The FP32 teacher, frozen, from its run's checkpoint.
models::NetworkPtr load_teacher(const std::string& model_name, const models::InputShape& shape,
                                const std::filesystem::path& checkpoint, bool channels_last) {
  models::NetworkPtr teacher = models::build_model(model_name, shape, quant::LayerFactory{});
  train::load_weights(checkpoint, *teacher);
  teacher->eval();
  for (auto& p : teacher->parameters()) p.requires_grad_(false);
  if (channels_last) train::use_channels_last(*teacher);
  return teacher;
}

// Widths of a model's stage embeddings, from one forward pass of a blank image.
std::vector<int64_t> embedding_widths(models::Network& model, const models::InputShape& shape) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  auto out = model.forward_with_stages(torch::zeros({1, shape.channels, shape.height, shape.width}));
  model.train(was_training);
  std::vector<int64_t> widths;
  for (const auto& s : out.stages) widths.push_back(s.size(1));
  return widths;
}

// Which gradient made each attack's examples (DESIGN §1.7), stored with the run next to its metrics.
json attack_provenance(const json& c, const train::EvalPlan& plan, const std::string& teacher_key) {
  const bool fp32 = c["quant"]["method"] == "fp32";
  const std::string own = fp32 ? "exact: white-box gradients of the full-precision model"
                               : "ste: white-box gradients through the straight-through estimators";
  json a = json::object();
  if (!plan.fgsm_eps.empty()) a["test/fgsm"] = own;
  if (!plan.pgd_eps.empty()) a["test/pgd" + std::to_string(plan.pgd_steps)] = own;
  if (plan.transfer_source)
    a["test/transfer-fgsm"] = "transfer: FGSM examples made on the FP32 teacher run " + teacher_key;
  return a;
}

}  // namespace

void check_runnable(const spec::RunSpec& run, const std::string& where) {
  const json& c = run.config;
  auto fail = [&](const std::string& path, const std::string& why) {
    throw InputError(where + ": " + path + ": " + why);
  };
  auto wrap = [&](const std::string& path, auto&& check) {
    try {
      check();
    } catch (const InputError& e) {
      fail(path, e.what());
    }
  };
  std::string dataset = c["dataset"]["name"];
  wrap("dataset.name", [&] { data::dataset_registry().get(dataset); });
  wrap("model.name", [&] { models::model_registry().get(c["model"]["name"].get<std::string>()); });
  wrap("quant.method", [&] { quant::method_registry().get(c["quant"]["method"].get<std::string>()); });
  try {
    quant::check_supported(quant_config(c));
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
  const auto loss = losses::loss_config_from(c);
  bool any_term = false;
  for (const auto& name : losses::term_order())
    any_term = any_term || losses::loss_registry().get(name).weight(loss) > 0;
  if (!any_term) fail("loss", "every term has weight 0; turn on at least one (e.g. loss.ce = 1)");
  if (loss.perturbation > 0 && loss.train_eps == 0)
    fail("loss.train_eps", "must be > 0 when loss.perturbation is on (a zero perturbation makes the term 0)");
  if (!c["eval"]["backend"].is_null())
    wrap("eval.backend", [&] {
      check_deployable(c["eval"]["backend"].get<std::string>(), c["quant"]["method"].get<std::string>());
    });
  if (c["device"] == "cuda" && !torch::cuda::is_available())
    fail("device", "\"cuda\" requested, but this LibTorch has no CUDA support or no GPU is visible");

  // The data must be there before hours of work are planned around it.
  const auto& entry = data::dataset_registry().get(dataset);
  if (!entry.resizable && c["dataset"]["image_size"].get<int64_t>() != 0)
    fail("dataset.image_size",
         "applies to image-folder datasets only; " + dataset + " has a fixed size (use 0)");
  if (!entry.default_root.empty()) {
    auto options = data_options(run);
    auto root = data::resolve_root(dataset, options.root);
    if (!std::filesystem::is_directory(root))
      fail("dataset", dataset + ": no dataset at " + root.string() + "; " + entry.install_hint +
                          ", or point dataset.root / R2Q_DATA_DIR at it");
  }
}

std::vector<store::Metric> execute_run(const spec::RunSpec& run, const RunContext& ctx) {
  using Clock = std::chrono::steady_clock;
  const json& c = run.config;
  const json* threads_field = spec::find_path(run.execution, "threads");
  const int threads = train::configure_threads(threads_field ? threads_field->get<int>() : 0);
  const auto config = train::train_config_from(c);

  data::Splits data = data::load(data_options(run));
  if (ctx.hooks)
    ctx.hooks->environment({{"threads", threads},
                            {"data",
                             {{"fingerprint", data.info.fingerprint},
                              {"root", data.info.root},
                              {"train", data.train.size()},
                              {"val", data.val.size()},
                              {"test", data.test.size()}}}});

  models::InputShape shape{data.info.channels, data.info.height, data.info.width,
                           data.info.classes,  data.info.mean,   data.info.std};
  const std::string model_name = c["model"]["name"];
  models::NetworkPtr teacher;
  if (!run.teacher_key.empty()) {
    if (ctx.teacher_checkpoint.empty())
      throw RunError("run " + run.key.substr(0, 12) + " needs its teacher run " +
                     run.teacher_key.substr(0, 12) + " finished first");
    teacher = load_teacher(model_name, shape, ctx.teacher_checkpoint, config.channels_last);
    if (ctx.hooks) ctx.hooks->environment({{"teacher", {{"run_key", run.teacher_key}}}});
  }

  train::seed_everything(config.seed);
  models::NetworkPtr model = models::build_model(model_name, shape, quant::LayerFactory(quant_config(c)));
  if (spec::init_from_teacher(c)) models::copy_weights(*teacher, *model);

  const auto loss = losses::loss_config_from(c);
  std::vector<int64_t> stage_widths;
  if (teacher && loss.adversarial > 0) stage_widths = embedding_widths(*teacher, shape);
  losses::Objective objective(loss, *model, stage_widths);
  train::Trainer trainer(*model, config, data.train.size(), {&objective, teacher.get()});
  // Loss terms with state (critics, power-iteration vectors) checkpoint it with the model.
  torch::nn::Module* loss_state =
      objective.parameters().empty() && objective.buffers().empty() ? nullptr : &objective;

  train::CheckpointState state;
  std::string discarded;
  if (auto restored = train::load_checkpoint(ctx.checkpoint, run.key, *model, trainer.optimizer(), loss_state,
                                             &discarded))
    state = *restored;
  if (!discarded.empty()) {
    const std::string why = discarded + "; it was set aside (.damaged) and the run starts over";
    if (ctx.progress) ctx.progress->on_warning(why);
    if (ctx.hooks) ctx.hooks->environment({{"checkpoint_discarded", why}});
  }

  for (int epoch = state.epoch + 1; epoch <= config.epochs; ++epoch) {
    auto stats = trainer.train_epoch(data.train, epoch, ctx.progress, ctx.stop);
    state.epoch = epoch;
    state.train_seconds += stats.seconds;
    state.images_seen += stats.images;
    std::optional<double> val;
    if (data.val.size() > 0) val = train::accuracy(*model, data.val);
    const double lr = trainer.lr_at(static_cast<std::int64_t>(epoch - 1) * trainer.batches_per_epoch());
    const double images_per_s = static_cast<double>(stats.images) / std::max(stats.seconds, 1e-9);
    std::vector<store::Metric> metrics = {{metric::kTrainLoss, epoch, stats.loss},
                                          {metric::kTrainAcc, epoch, stats.accuracy},
                                          {metric::kLearningRate, epoch, lr},
                                          {metric::kEpochSeconds, epoch, stats.seconds}};
    if (val) metrics.push_back({metric::kValAcc, epoch, *val});
    if (stats.terms.size() > 1)
      for (const auto& [term, value] : stats.terms)
        metrics.push_back({metric::term_loss(term), epoch, value});
    if (ctx.hooks) ctx.hooks->epoch_done(epoch, metrics);
    train::save_checkpoint(ctx.checkpoint, run.key, *model, trainer.optimizer(), state, loss_state);
    if (ctx.hooks) ctx.hooks->checkpoint_saved(ctx.checkpoint, epoch);
    if (ctx.progress)
      ctx.progress->on_epoch(
          {epoch, config.epochs, stats.loss, stats.accuracy, lr, stats.seconds, images_per_s, val});
  }

  const auto eval_start = Clock::now();
  train::EvalPlan plan;
  plan.fgsm_eps = float_list(c["eval"]["fgsm_eps"]);
  plan.pgd_eps = float_list(c["eval"]["pgd"]["eps"]);
  plan.pgd_steps = c["eval"]["pgd"]["steps"].get<int>();
  plan.pgd_step_size = c["eval"]["pgd"]["step_size"].get<double>();
  if (c["eval"]["transfer"].get<bool>()) plan.transfer_source = teacher.get();
  if (ctx.hooks) ctx.hooks->environment({{"attacks", attack_provenance(c, plan, run.teacher_key)}});
  torch::manual_seed(config.seed);  // PGD's random starts
  auto robustness = train::evaluate(*model, data.test, plan, [&](std::int64_t done, std::int64_t total) {
    if (ctx.progress) ctx.progress->on_phase("evaluating", done, total);
    if (ctx.stop && ctx.stop->load()) throw Interrupted("interrupted during evaluation");
  });
  const double eval_seconds = std::chrono::duration<double>(Clock::now() - eval_start).count();

  const std::int64_t step = config.epochs;
  std::vector<store::Metric> finals = {
      {metric::kTestAcc, step, robustness.clean},
      {metric::kTrainSeconds, step, state.train_seconds},
      {metric::kImagesPerSecond, step,
       static_cast<double>(state.images_seen) / std::max(state.train_seconds, 1e-9)},
      {metric::kEvalSeconds, step, eval_seconds},
  };
  for (const auto& [eps, acc] : robustness.fgsm) finals.push_back({metric::fgsm_acc(eps), step, acc});
  for (const auto& [eps, acc] : robustness.pgd)
    finals.push_back({metric::pgd_acc(plan.pgd_steps, eps), step, acc});
  for (const auto& [eps, acc] : robustness.transfer_fgsm)
    finals.push_back({metric::transfer_fgsm_acc(eps), step, acc});

  if (!c["eval"]["backend"].is_null()) {
    const std::string backend = c["eval"]["backend"].get<std::string>();
    if (ctx.progress) ctx.progress->on_phase("deploying on " + backend, 0, 1);
    const auto deployed =
        evaluate_deployed(*model, shape, data.test, {.backend = backend, .threads = threads});
    if (ctx.hooks) ctx.hooks->environment({{"deploy", deployed.facts}});
    finals.push_back({metric::deploy_acc(backend), step, deployed.accuracy});
    finals.push_back({metric::deploy_agreement(backend), step, deployed.agreement});
    finals.push_back({metric::deploy_latency_us(backend), step, deployed.latency_us});
  }
  return finals;
}

}  // namespace r2q::sweep
