// Executing one run.
#include "experiments/execute.h"

#include <torch/torch.h>

#include <chrono>

#include "core/data/registry.h"
#include "core/quant/registry.h"
#include "core/spec/run_config.h"
#include "core/store/metric_names.h"
#include "core/train/checkpoint.h"
#include "core/train/device.h"
#include "core/train/evaluate.h"
#include "core/train/threads.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "experiments/deploy_eval.h"
#include "losses/objective.h"
#include "models/registry.h"

namespace r2q::sweep {
namespace {

using nlohmann::json;

data::DataOptions data_options(const spec::DataConfig& d) {
  return {.name = d.name,
          .root = d.root,
          .train_limit = d.train_limit,
          .test_limit = d.test_limit,
          .val_size = d.val_size,
          .image_size = d.image_size};
}

// The FP32 teacher, frozen, from its run's checkpoint.
models::NetworkPtr load_teacher(const std::string& model_name, const nn::InputShape& shape,
                                const std::filesystem::path& checkpoint, bool channels_last,
                                const torch::Device& device) {
  models::NetworkPtr teacher = models::build_model(model_name, shape, quant::LayerFactory{});
  teacher->to(device);
  train::load_weights(checkpoint, *teacher);
  teacher->eval();
  for (auto& p : teacher->parameters()) p.requires_grad_(false);
  if (channels_last) train::use_channels_last(*teacher);
  return teacher;
}

// Widths of a model's stage embeddings, from one forward pass of a blank image.
std::vector<int64_t> embedding_widths(nn::Network& model, const nn::InputShape& shape) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const torch::Device device = nn::device_of(model);
  auto out = model.forward_with_stages(torch::zeros({1, shape.channels, shape.height, shape.width}, device));
  model.train(was_training);
  std::vector<int64_t> widths;
  for (const auto& s : out.stages) widths.push_back(s.size(1));
  return widths;
}

// Which gradient made each attack's examples (DESIGN §1.7), stored with the run next to its metrics.
json attack_provenance(const spec::RunConfig& c, const train::EvalPlan& plan,
                       const std::string& teacher_key) {
  const bool fp32 = c.quant.method == "fp32";
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
  const spec::RunConfig c = spec::run_config(run.config, run.execution);
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
  wrap("dataset.name", [&] { data::dataset_registry().get(c.dataset.name); });
  wrap("model.name", [&] { models::model_registry().get(c.model); });
  wrap("quant.method", [&] { quant::method_registry().get(c.quant.method); });
  try {
    quant::check_supported(c.quant);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
  bool any_term = false;
  for (const auto& name : losses::term_order())
    any_term = any_term || losses::loss_registry().get(name).weight(c.loss) > 0;
  if (!any_term) fail("loss", "every term has weight 0; turn on at least one (e.g. loss.ce = 1)");
  if (c.loss.perturbation > 0 && c.loss.train_eps == 0)
    fail("loss.train_eps", "must be > 0 when loss.perturbation is on (a zero perturbation makes the term 0)");
  if (c.eval.backend) wrap("eval.backend", [&] { check_deployable(*c.eval.backend, c.quant.method); });
  if (c.device == "cuda" && !torch::cuda::is_available())
    fail("device", "\"cuda\" requested, but this LibTorch has no CUDA support or no GPU is visible");

  // The data must be there before hours of work are planned around it.
  const auto& entry = data::dataset_registry().get(c.dataset.name);
  if (!entry.resizable && c.dataset.image_size != 0)
    fail("dataset.image_size",
         "applies to image-folder datasets only; " + c.dataset.name + " has a fixed size (use 0)");
  if (!entry.default_root.empty()) {
    auto root = data::resolve_root(c.dataset.name, c.dataset.root);
    if (!std::filesystem::is_directory(root))
      fail("dataset", c.dataset.name + ": no dataset at " + root.string() + "; " + entry.install_hint +
                          ", or point dataset.root / R2Q_DATA_DIR at it");
  }
}

namespace {

// A run once its data, models and objective are built.
struct Prepared {
  data::Splits data;
  nn::InputShape shape;
  nn::NetworkPtr teacher, model;
  std::unique_ptr<losses::Objective> objective;
};

// The run's device: "cpu", or "cuda" (the first visible GPU; check_runnable has made sure there is one).
torch::Device run_device(const spec::RunConfig& c) {
  return c.device == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
}

// In-memory datasets go to the device once, as uint8 (a GPU then never waits for the host between steps);
// on-demand ones decode on the host and each batch goes over.
void to_device(data::Dataset& d, const torch::Device& device) {
  if (d.images.defined()) d.images = d.images.to(device);
  if (d.labels.defined()) d.labels = d.labels.to(device);
}

Prepared prepare(const spec::RunSpec& run, const spec::RunConfig& c, const RunContext& ctx, int threads) {
  Prepared p;
  const torch::Device device = run_device(c);
  if (device.is_cuda()) train::set_deterministic(c.deterministic);
  if (ctx.hooks) ctx.hooks->environment({{"device", train::device_facts(device, c.deterministic)}});
  p.data = data::load(data_options(c.dataset));
  for (data::Dataset* d : {&p.data.train, &p.data.val, &p.data.test}) to_device(*d, device);
  if (ctx.hooks)
    ctx.hooks->environment({{"threads", threads},
                            {"data",
                             {{"fingerprint", p.data.info.fingerprint},
                              {"root", p.data.info.root},
                              {"train", p.data.train.size()},
                              {"val", p.data.val.size()},
                              {"test", p.data.test.size()}}}});
  const data::DataInfo& info = p.data.info;
  p.shape = {info.channels, info.height, info.width, info.classes, info.mean, info.std};
  if (!run.teacher_key.empty()) {
    if (ctx.teacher_checkpoint.empty())
      throw RunError("run " + run.key.substr(0, 12) + " needs its teacher run " +
                     run.teacher_key.substr(0, 12) + " finished first");
    p.teacher = load_teacher(c.model, p.shape, ctx.teacher_checkpoint, c.train.channels_last, device);
    if (ctx.hooks) ctx.hooks->environment({{"teacher", {{"run_key", run.teacher_key}}}});
  }
  train::seed_everything(c.seed);
  p.model = models::build_model(c.model, p.shape, quant::LayerFactory(c.quant));
  p.model->to(device);
  if (c.train.init_from_teacher) nn::copy_weights(*p.teacher, *p.model);
  std::vector<int64_t> stage_widths;
  if (p.teacher && c.loss.adversarial > 0) stage_widths = embedding_widths(*p.teacher, p.shape);
  p.objective = std::make_unique<losses::Objective>(c.loss, *p.model, stage_widths);
  p.objective->to(device);  // critics and power-iteration vectors
  return p;
}

// The checkpoint's state, or a fresh start when there is none or a damaged one was set aside.
train::CheckpointState resume(const spec::RunSpec& run, const RunContext& ctx, Prepared& p,
                              train::Trainer& trainer, torch::nn::Module* loss_state) {
  std::string discarded;
  auto restored =
      train::load_checkpoint(ctx.checkpoint, run.key, *p.model, trainer.optimizer(), loss_state, &discarded);
  if (!discarded.empty()) {
    const std::string why = discarded + "; it was set aside (.damaged) and the run starts over";
    if (ctx.progress) ctx.progress->on_warning(why);
    if (ctx.hooks) ctx.hooks->environment({{"checkpoint_discarded", why}});
  }
  return restored.value_or(train::CheckpointState{});
}

// The epochs not yet done, each recorded and checkpointed as it ends.
void train_epochs(const spec::RunSpec& run, const spec::RunConfig& c, const RunContext& ctx, Prepared& p,
                  train::Trainer& trainer, torch::nn::Module* loss_state, train::CheckpointState& state) {
  for (int epoch = state.epoch + 1; epoch <= c.train.epochs; ++epoch) {
    auto stats = trainer.train_epoch(p.data.train, epoch, ctx.progress, ctx.stop);
    state.epoch = epoch;
    state.train_seconds += stats.seconds;
    state.images_seen += stats.images;
    std::optional<double> val;
    if (p.data.val.size() > 0) val = train::accuracy(*p.model, p.data.val);
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
    train::save_checkpoint(ctx.checkpoint, run.key, *p.model, trainer.optimizer(), state, loss_state);
    if (ctx.hooks) ctx.hooks->checkpoint_saved(ctx.checkpoint, epoch);
    if (ctx.progress)
      ctx.progress->on_epoch(
          {epoch, c.train.epochs, stats.loss, stats.accuracy, lr, stats.seconds, images_per_s, val});
  }
}

// Clean, FGSM, PGD and transfer accuracy on the test set, then the deployment backend when one is set; with
// the training totals, the run's final metrics.
std::vector<store::Metric> final_metrics(const spec::RunSpec& run, const spec::RunConfig& c,
                                         const RunContext& ctx, Prepared& p,
                                         const train::CheckpointState& state, int threads) {
  using Clock = std::chrono::steady_clock;
  const auto eval_start = Clock::now();
  train::EvalPlan plan;
  plan.fgsm_eps = c.eval.fgsm_eps;
  plan.pgd_eps = c.eval.pgd_eps;
  plan.pgd_steps = c.eval.pgd_steps;
  plan.pgd_step_size = c.eval.pgd_step_size;
  if (c.eval.transfer) plan.transfer_source = p.teacher.get();
  if (ctx.hooks) ctx.hooks->environment({{"attacks", attack_provenance(c, plan, run.teacher_key)}});
  torch::manual_seed(c.seed);  // PGD's random starts
  auto robustness = train::evaluate(*p.model, p.data.test, plan, [&](std::int64_t done, std::int64_t total) {
    if (ctx.progress) ctx.progress->on_phase("evaluating", done, total);
    if (ctx.stop && ctx.stop->load()) throw Interrupted("interrupted during evaluation");
  });
  const double eval_seconds = std::chrono::duration<double>(Clock::now() - eval_start).count();

  const std::int64_t step = c.train.epochs;
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

  if (c.eval.backend) {
    const std::string& backend = *c.eval.backend;
    if (ctx.progress) ctx.progress->on_phase("deploying on " + backend, 0, 1);
    const auto deployed =
        evaluate_deployed(*p.model, p.shape, p.data.test, {.backend = backend, .threads = threads});
    if (ctx.hooks) ctx.hooks->environment({{"deploy", deployed.facts}});
    finals.push_back({metric::deploy_acc(backend), step, deployed.accuracy});
    finals.push_back({metric::deploy_agreement(backend), step, deployed.agreement});
    finals.push_back({metric::deploy_latency_us(backend), step, deployed.latency_us});
  }
  return finals;
}

}  // namespace

std::vector<store::Metric> execute_run(const spec::RunSpec& run, const RunContext& ctx) {
  const spec::RunConfig c = spec::run_config(run.config, run.execution);
  const int threads = train::configure_threads(c.threads);
  Prepared p = prepare(run, c, ctx, threads);
  train::Trainer trainer(*p.model, c.train, p.data.train.size(), {p.objective.get(), p.teacher.get()});
  // Loss terms with state (critics, power-iteration vectors) checkpoint it with the model.
  torch::nn::Module* loss_state =
      p.objective->parameters().empty() && p.objective->buffers().empty() ? nullptr : p.objective.get();
  train::CheckpointState state = resume(run, ctx, p, trainer, loss_state);
  train_epochs(run, c, ctx, p, trainer, loss_state, state);
  return final_metrics(run, c, ctx, p, state, threads);
}

}  // namespace r2q::sweep
