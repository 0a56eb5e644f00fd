// The field table of the run config and the per-field checks.
#include "core/spec/schema.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::spec {
namespace {

using nlohmann::json;

Field number(std::string path, FieldType type, json def, double min, double max, std::string help,
             bool min_exclusive = false, bool max_exclusive = false) {
  Field f;
  f.path = std::move(path);
  f.type = type;
  f.default_value = std::move(def);
  f.min = min;
  f.max = max;
  f.min_exclusive = min_exclusive;
  f.max_exclusive = max_exclusive;
  f.help = std::move(help);
  return f;
}

Field choice(std::string path, std::string def, std::vector<std::string> choices, std::string help) {
  Field f;
  f.path = std::move(path);
  f.type = FieldType::Choice;
  f.default_value = std::move(def);
  f.choices = std::move(choices);
  f.help = std::move(help);
  return f;
}

Field plain(std::string path, FieldType type, json def, std::string help) {
  Field f;
  f.path = std::move(path);
  f.type = type;
  f.default_value = std::move(def);
  f.help = std::move(help);
  return f;
}

std::vector<Field> make_fields() {
  using T = FieldType;
  const double kMaxCount = 1e9;
  const double kMaxWeight = 1e6;
  std::vector<Field> f;
  // dataset
  f.push_back(
      plain("dataset.name", T::String, "fashion-mnist", "dataset name (see `r2q version` for the list)"));
  // Where the files are is not what they are: the root is kept out of the run key (the data's fingerprint is
  // stored with every run instead), so one config has one key on every machine.
  Field root = plain("dataset.root", T::NullableString, nullptr,
                     "directory of the dataset files; null = the dataset's default (R2Q_DATA_DIR overrides)");
  root.execution_only = true;
  f.push_back(root);
  f.push_back(number("dataset.train_limit", T::Int, 0, 0, kMaxCount,
                     "use only the first N training images; 0 = all"));
  f.push_back(
      number("dataset.test_limit", T::Int, 0, 0, kMaxCount, "use only the first N test images; 0 = all"));
  f.push_back(number("dataset.val_size", T::Int, 5000, 0, kMaxCount,
                     "images held out from the end of the training set for validation"));
  f.push_back(number("dataset.image_size", T::Int, 0, 0, 4096,
                     "output side length of image-folder datasets (0 = the dataset's default)"));
  // model
  f.push_back(plain("model.name", T::String, "resnet20", "network architecture"));
  // quantization
  f.push_back(plain("quant.method", T::String, "r2q", "quantization method"));
  f.push_back(number("quant.weight_bits", T::Int, 2, 1, 8, "weight bit-width"));
  f.push_back(number("quant.act_bits", T::Int, 2, 1, 8, "activation bit-width"));
  f.push_back(number("quant.first_last_bits", T::Int, 8, 1, 32,
                     "bit-width of the first and last layer (2-8, or 32 for full precision)"));
  // training
  f.push_back(number("train.epochs", T::Int, 30, 1, 100000, "training epochs"));
  f.push_back(number("train.batch_size", T::Int, 128, 1, 1 << 20, "mini-batch size"));
  f.push_back(choice("train.optimizer", "sgd", {"sgd", "adam"}, "optimizer"));
  f.push_back(number("train.lr", T::Float, 0.1, 0, 100, "peak learning rate", true));
  f.push_back(number("train.momentum", T::Float, 0.9, 0, 1, "SGD momentum / Adam beta1", false, true));
  f.push_back(number("train.weight_decay", T::Float, 5e-4, 0, 1, "L2 weight decay"));
  f.push_back(choice("train.schedule", "cosine", {"cosine", "step", "constant"},
                     "learning-rate schedule (step: x0.1 at 50% and 75% of training)"));
  f.push_back(plain("train.augment", T::Bool, true, "random crop (padding 4) and horizontal flip"));
  f.push_back(
      choice("train.init", "auto", {"auto", "scratch", "teacher"},
             "initial weights: the FP32 teacher's or random; auto = the teacher's when kd, structural "
             "or adversarial is on"));
  // loss terms
  f.push_back(number("loss.ce", T::Float, 1.0, 0, kMaxWeight, "weight of cross-entropy on the labels"));
  f.push_back(
      number("loss.kd", T::Float, 0.0, 0, kMaxWeight, "weight of distillation from the FP32 teacher"));
  f.push_back(
      number("loss.kd_temperature", T::Float, 4.0, 0, 1000, "softmax temperature of distillation", true));
  f.push_back(
      number("loss.structural", T::Float, 0.0, 0, kMaxWeight, "weight of the relational structural loss"));
  f.push_back(number("loss.structural_angle", T::Float, 0.0, 0, kMaxWeight,
                     "weight of the RKD angle term relative to the RKD distance term (0 = distance only)"));
  f.push_back(number("loss.adversarial", T::Float, 0.0, 0, kMaxWeight, "weight of the GAN (critic) loss"));
  f.push_back(
      choice("loss.lipschitz.mode", "gp", {"gp", "spectral", "none"}, "how the critic is kept Lipschitz"));
  f.push_back(number("loss.lipschitz.weight", T::Float, 10.0, 0, kMaxWeight, "gradient-penalty weight"));
  f.push_back(number("loss.n_critic", T::Int, 5, 1, 1000, "critic updates per training step"));
  f.push_back(number("loss.critic_lr", T::Float, 1e-4, 0, 1, "learning rate of the critics (Adam)", true));
  f.push_back(number("loss.perturbation", T::Float, 0.0, 0, kMaxWeight, "weight of the perturbation loss"));
  f.push_back(
      choice("loss.perturbation_delta", "fgsm", {"fgsm", "uniform"},
             "the perturbation: an FGSM step of train_eps, or uniform noise in [-train_eps, train_eps]"));
  f.push_back(number("loss.train_eps", T::Float, 0.0, 0, 1, "size of the perturbation (pixel space)"));
  f.push_back(number("loss.spectral", T::Float, 0.0, 0, kMaxWeight, "weight of the spectral-norm penalty"));
  f.push_back(number("loss.power_iterations", T::Int, 1, 1, 1000,
                     "power iterations per step for spectral norms (the vectors persist across steps)"));
  // evaluation
  f.push_back(number("eval.fgsm_eps", T::FloatList, json::array({0.0, 0.01, 0.03, 0.05, 0.1}), 0, 1,
                     "FGSM epsilons (pixel space, [0,1]) evaluated on the test set"));
  f.push_back(number("eval.pgd.eps", T::FloatList, json::array(), 0, 1, "PGD epsilons; empty = no PGD"));
  f.push_back(number("eval.pgd.steps", T::Int, 10, 1, 10000, "PGD iterations"));
  f.push_back(number("eval.pgd.step_size", T::Float, 0.0, 0, 1, "PGD step size; 0 = eps / 4"));
  f.push_back(plain("eval.transfer", T::Bool, false, "also attack with examples made on the FP32 teacher"));
  f.push_back(plain("eval.backend", T::NullableString, nullptr, "also evaluate on a deployment backend"));
  // run
  f.push_back(
      number("seed", T::Int, 0, 0, 2147483647.0, "random seed (initialisation, data order, augmentation)"));
  f.push_back(choice("device", "cpu", {"cpu", "cuda"}, "training device"));
  Field threads = number("threads", T::Int, 0, 0, 4096, "CPU threads for this run; 0 = all cores");
  threads.execution_only = true;
  f.push_back(threads);
  Field deterministic = plain("deterministic", T::Bool, false,
                              "GPU: cuDNN's deterministic algorithms (repeatable, slower); the CPU path is "
                              "deterministic anyway");
  deterministic.execution_only = true;
  f.push_back(deterministic);
  return f;
}

std::string fmt(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return shortest_decimal(v);
}

[[noreturn]] void bad(const Field& field, const json& value, const std::string& where) {
  throw InputError(where + ": expected " + describe(field) + ", got " + value.dump());
}

double check_number(const Field& field, const json& value, const std::string& where, bool integer) {
  if (!value.is_number()) bad(field, value, where);
  double v = value.get<double>();
  if (!std::isfinite(v)) bad(field, value, where);
  if (integer && v != std::floor(v)) bad(field, value, where);
  bool below = field.min_exclusive ? v <= field.min : v < field.min;
  bool above = field.max_exclusive ? v >= field.max : v > field.max;
  if (below || above) bad(field, value, where);
  return v;
}

}  // namespace

const std::vector<Field>& fields() {
  static const std::vector<Field> table = make_fields();
  return table;
}

const Field* find_field(std::string_view path) {
  for (const auto& f : fields())
    if (f.path == path) return &f;
  return nullptr;
}

bool is_object_path(std::string_view path) {
  std::string prefix = std::string(path) + ".";
  for (const auto& f : fields())
    if (f.path.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}

std::vector<std::string> field_paths() {
  std::vector<std::string> out;
  for (const auto& f : fields()) out.push_back(f.path);
  return out;
}

void set_dotted(json& root, const std::string& path, const json& value) {
  json* node = &root;
  size_t start = 0;
  for (size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1)
    node = &(*node)[path.substr(start, dot - start)];
  (*node)[path.substr(start)] = value;
}

json default_config() {
  json out = json::object();
  for (const auto& f : fields())
    if (!f.execution_only) set_dotted(out, f.path, check_value(f, f.default_value, "default of " + f.path));
  return out;
}

json default_execution() {
  json out = json::object();
  for (const auto& f : fields())
    if (f.execution_only) set_dotted(out, f.path, check_value(f, f.default_value, "default of " + f.path));
  return out;
}

std::string describe(const Field& field) {
  auto range = [&] {
    return std::string(field.min_exclusive ? "(" : "[") + fmt(field.min) + ", " + fmt(field.max) +
           (field.max_exclusive ? ")" : "]");
  };
  switch (field.type) {
    case FieldType::Int:
      return "an integer in " + range();
    case FieldType::Float:
      return "a number in " + range();
    case FieldType::Bool:
      return "true or false";
    case FieldType::String:
      return "a non-empty string";
    case FieldType::NullableString:
      return "a string or null";
    case FieldType::Choice: {
      std::vector<std::string> quoted;
      for (const auto& c : field.choices) quoted.push_back("\"" + c + "\"");
      return "one of " + join(quoted, ", ");
    }
    case FieldType::FloatList:
      return "a list of numbers in " + range();
  }
  return "?";
}

json check_value(const Field& field, const json& value, const std::string& where) {
  switch (field.type) {
    case FieldType::Int:
      return static_cast<std::int64_t>(check_number(field, value, where, true));
    case FieldType::Float:
      return check_number(field, value, where, false);
    case FieldType::Bool:
      if (!value.is_boolean()) bad(field, value, where);
      return value;
    case FieldType::String:
      if (!value.is_string() || value.get<std::string>().empty()) bad(field, value, where);
      return value;
    case FieldType::NullableString:
      if (!value.is_null() && (!value.is_string() || value.get<std::string>().empty()))
        bad(field, value, where);
      return value;
    case FieldType::Choice:
      if (!value.is_string() || std::find(field.choices.begin(), field.choices.end(),
                                          value.get<std::string>()) == field.choices.end())
        bad(field, value, where);
      return value;
    case FieldType::FloatList: {
      if (!value.is_array()) bad(field, value, where);
      std::vector<double> list;
      for (size_t i = 0; i < value.size(); ++i)
        list.push_back(check_number(field, value[i], where + "[" + std::to_string(i) + "]", false));
      std::sort(list.begin(), list.end());
      list.erase(std::unique(list.begin(), list.end()), list.end());
      return json(list);
    }
  }
  bad(field, value, where);
}

}  // namespace r2q::spec
