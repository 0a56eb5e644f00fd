// r2q eval: an exported model file (.r2q) run on a deployment backend over a dataset's test set: accuracy,
// and with --against the agreement with a stored run's fake-quant (LibTorch) model on the same images; the
// per-image predictions and logits can be written for other tools to check.
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "backends/backend.h"
#include "cli/common.h"
#include "cli/run_model.h"
#include "core/data/dataset.h"
#include "core/data/registry.h"
#include "core/deploy/model_file.h"
#include "core/store/metric_names.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/npy.h"
#include "core/util/output_file.h"
#include "core/util/sha256.h"
#include "core/util/text.h"
#include "experiments/deploy_eval.h"

namespace r2q::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string shape_text(std::int64_t c, std::int64_t h, std::int64_t w) {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

// "0.8450 (169/200)"
std::string fraction(std::int64_t part, std::int64_t whole) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f (%lld/%lld)", static_cast<double>(part) / static_cast<double>(whole),
                static_cast<long long>(part), static_cast<long long>(whole));
  return buf;
}

// A float as text that reads back as the same float32.
std::string float_text(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

bool is_npy(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".npy";
}

// The same file, by any name or link (the file need not exist yet).
bool same_path(const fs::path& a, const fs::path& b) {
  std::error_code ec1, ec2;
  const fs::path ca = fs::weakly_canonical(fs::absolute(a), ec1),
                 cb = fs::weakly_canonical(fs::absolute(b), ec2);
  return !ec1 && !ec2 && ca == cb;
}

}  // namespace

int cmd_eval(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("model", po::value<std::string>()->required()->value_name("MODEL.r2q"),
                        "a model file written by `r2q export`")(
      "dataset,d", po::value<std::string>()->required()->value_name("NAME"),
      ("the dataset whose test set is evaluated: " + join(data::dataset_registry().names(), ", ")).c_str())(
      "root", po::value<std::string>()->value_name("DIR"),
      "the dataset's directory (default: $R2Q_DATA_DIR/NAME, else the dataset's own default)")(
      "test-limit", po::value<std::int64_t>()->default_value(0)->value_name("N"),
      "the first N test images only (0: all)")("backend", po::value<std::string>()->default_value("cpu"),
                                               "deployment backend (`r2q backends` lists them)")(
      "engine", po::value<std::string>()->default_value("")->value_name("E"),
      "the backend's engine (default: its first; cpu: shift-add, onednn-fp32, onednn-int8)")(
      "threads,t", po::value<int>()->default_value(0), "CPU threads (0: all cores)")(
      "against", po::value<std::string>()->value_name("RUN_KEY"),
      "also the agreement with this stored run's fake-quant model (its key or a unique prefix; needs --db)")(
      "db", po::value<std::string>()->value_name("FILE"), "the store that holds the --against run")(
      "predictions", po::value<std::string>()->value_name("FILE"),
      "write index,label,prediction per test image (CSV; - for standard output)")(
      "logits", po::value<std::string>()->value_name("FILE"),
      "write the logits per test image: .npy (float32, shape images x classes), else CSV")(
      "format,f", po::value<std::string>()->default_value("text"), "text or json");
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map vm;
  const std::string usage = "MODEL.r2q --dataset NAME [options]";
  if (!parse("eval", usage, args, options, positional, vm)) return kOk;

  const std::string format = vm["format"].as<std::string>();
  if (format != "text" && format != "json")
    throw UsageError("--format: " + quoted_value(format) + " is not available (available: text, json)");
  const int threads_asked = int_option(vm, "threads", 0, kMaxThreads);
  const int threads =
      threads_asked > 0 ? threads_asked : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::int64_t test_limit = vm["test-limit"].as<std::int64_t>();
  if (test_limit < 0)
    throw UsageError("--test-limit: " + std::to_string(test_limit) + " is out of range (expected 0 or more)");
  const bool against = vm.count("against") > 0;
  if (vm.count("db") && !against)
    throw UsageError("--db: only --against reads a store; give --against RUN_KEY");
  std::optional<fs::path> db;
  if (against) {
    if (vm.count("db")) {
      db = vm["db"].as<std::string>();
    } else if (const char* env = std::getenv("R2Q_DB"); env && *env) {
      db = env;
    } else {
      throw UsageError("--against " + vm["against"].as<std::string>() +
                       ": needs the store that holds the run (--db FILE, or $R2Q_DB)");
    }
  }

  // The model file: read once, checked completely, hashed.
  const fs::path model_path = vm["model"].as<std::string>();
  const std::string bytes = read_input_file(model_path, "the model file");
  const deploy::Model model = deploy::decode_model(bytes, model_path.string());
  const std::string sha256 = sha256_hex(bytes);
  const deploy::Shape logits_shape = deploy::validate(model, model_path.string()).at(model.output);
  const std::int64_t classes = logits_shape.c;
  const std::string model_input = shape_text(model.input.c, model.input.h, model.input.w);

  // The stored run, before any output is opened: its store and checkpoint are inputs too.
  std::optional<store::Store> store;
  std::optional<store::RunRecord> run;
  fs::path checkpoint;
  std::vector<fs::path> inputs = {model_path};
  if (against) {
    store.emplace(*db, store::Store::Mode::ReadOnly);
    run = find_run(*store, vm["against"].as<std::string>());
    checkpoint = finished_run_checkpoint(*store, *run);
    inputs.push_back(*db);
    inputs.push_back(checkpoint);
  }
  std::optional<OutputFile> predictions_file, logits_file;
  if (vm.count("predictions"))
    predictions_file.emplace("--predictions", vm["predictions"].as<std::string>(), inputs);
  if (vm.count("logits")) logits_file.emplace("--logits", vm["logits"].as<std::string>(), inputs);
  if (predictions_file && logits_file) {
    const bool both_stdout = predictions_file->is_stdout() && logits_file->is_stdout();
    if (both_stdout || (!predictions_file->is_stdout() && !logits_file->is_stdout() &&
                        same_path(predictions_file->path(), logits_file->path())))
      throw InputError("--logits " + logits_file->path().string() +
                       ": is also the --predictions file; give two files");
  }
  const bool summary_to_stderr =
      (predictions_file && predictions_file->is_stdout()) || (logits_file && logits_file->is_stdout());

  // The dataset's test set, which must fit the model's input and classes.
  const std::string dataset = vm["dataset"].as<std::string>();
  const data::DatasetEntry& entry = data::dataset_registry().get(dataset);
  data::DataOptions data_options{.name = dataset, .test_limit = test_limit};
  if (vm.count("root")) data_options.root = vm["root"].as<std::string>();
  // A resizable dataset (image folders) is resized to the model's input.
  if (entry.resizable && model.input.h == model.input.w) data_options.image_size = model.input.h;
  const data::Splits data = data::load(data_options);
  const data::DataInfo& info = data.info;
  const std::string data_input = shape_text(info.channels, info.height, info.width);
  if (data_input != model_input)
    throw InputError("--dataset " + dataset + ": its images are " + data_input + " but " +
                     model_path.string() + " takes " + model_input + " (graph.input_shape)");
  if (info.classes != classes)
    throw InputError("--dataset " + dataset + ": it has " + std::to_string(info.classes) + " classes but " +
                     model_path.string() + " has " + std::to_string(classes) + " outputs");
  const data::Dataset& test = data.test;
  if (test.size() == 0) throw InputError("--dataset " + dataset + ": its test set is empty");
  // Same shape, another dataset (MNIST for a Fashion-MNIST model): allowed, but the number is then not the
  // model's accuracy, so it is said, on stderr (and in json); the same for the --against run.
  std::vector<std::string> warnings;
  // The model's metadata says {"dataset": NAME}, a run's config {"dataset": {"name": NAME, ...}}.
  const auto name_in = [](const json& j, const char* field) -> std::string {
    return j.is_object() && j.contains(field) && j[field].is_string() ? j[field].get<std::string>() : "";
  };
  if (const std::string was = name_in(model.metadata, "dataset"); !was.empty() && was != dataset)
    warnings.push_back(model_path.string() + " was trained on " + quoted_value(was) +
                       " (its metadata), not on " + quoted_value(dataset) +
                       ": this is not its accuracy on the data it was made for");
  if (against)
    if (const std::string was =
            run->config.contains("dataset") ? name_in(run->config["dataset"], "name") : "";
        !was.empty() && was != dataset)
      warnings.push_back("--against " + short_key(run->key) + " was trained on " + quoted_value(was) +
                         ", not on " + quoted_value(dataset));
  for (const auto& w : warnings) std::cerr << "r2q eval: warning: " << w << "\n";

  // The deployed model, and the run's fake-quant model on the same images.
  json facts;
  std::unique_ptr<backends::Plan> plan = sweep::plan_deployed(model, vm["backend"].as<std::string>(),
                                                              vm["engine"].as<std::string>(), threads, facts);
  std::optional<TrainedModel> trained;
  if (against) {
    trained = load_trained_model(*run, checkpoint);
    const std::string run_input =
        shape_text(trained->shape.channels, trained->shape.height, trained->shape.width);
    if (run_input != model_input || trained->shape.classes != classes)
      throw InputError("--against " + short_key(run->key) + ": the run's model takes " + run_input +
                       " with " + std::to_string(trained->shape.classes) + " classes, " +
                       model_path.string() + " " + model_input + " with " + std::to_string(classes));
    torch::set_num_threads(threads);
  }
  const sweep::DeployedPredictions p = sweep::predict_deployed(
      *plan, test, 256, trained ? trained->model.get() : nullptr, logits_file.has_value());
  const std::int64_t n = static_cast<std::int64_t>(p.predictions.size());
  const std::int64_t correct = p.correct();

  if (predictions_file)
    predictions_file->write([&](std::ostream& out) {
      out << "index,label,prediction\n";
      for (std::int64_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        out << i << ',' << p.labels[k] << ',' << p.predictions[k] << '\n';
      }
    });
  if (logits_file) {
    if (is_npy(logits_file->path()) && !logits_file->is_stdout()) {
      logits_file->write([&](std::ostream& out) { write_npy_float32(out, p.logits, {n, p.classes}); });
    } else {
      logits_file->write([&](std::ostream& out) {
        out << "index";
        for (std::int64_t c = 0; c < p.classes; ++c) out << ",logit_" << c;
        out << '\n';
        for (std::int64_t i = 0; i < n; ++i) {
          out << i;
          for (std::int64_t c = 0; c < p.classes; ++c)
            out << ',' << float_text(p.logits[static_cast<std::size_t>(i * p.classes + c)]);
          out << '\n';
        }
      });
    }
  }

  std::ostream& say = summary_to_stderr ? std::cerr : std::cout;
  const std::string model_run = model.metadata.contains("run_key") && model.metadata["run_key"].is_string()
                                    ? model.metadata["run_key"].get<std::string>()
                                    : "";
  std::optional<double> stored_agreement;
  if (against) {
    const auto finals = store->final_metrics(run->key);
    if (auto it = finals.find(metric::deploy_agreement(facts["backend"].get<std::string>()));
        it != finals.end())
      stored_agreement = it->second;
  }
  if (format == "json") {
    json j = {{"model", model_path.string()},
              {"sha256", sha256},
              {"dataset", dataset},
              {"root", info.root},
              {"images", n},
              {"correct", correct},
              {"accuracy", static_cast<double>(correct) / static_cast<double>(n)},
              {"classes", classes},
              {"backend", facts["backend"]},
              {"engine", facts["engine"]},
              {"threads", threads}};
    if (!model_run.empty()) j["model_run_key"] = model_run;
    if (!warnings.empty()) j["warnings"] = warnings;
    if (against) {
      j["against"] = run->key;
      j["agreeing"] = p.agreeing();
      j["agreement"] = static_cast<double>(p.agreeing()) / static_cast<double>(n);
      if (stored_agreement) j["stored_agreement"] = *stored_agreement;
    }
    if (facts.contains("float_inputs")) j["float_inputs"] = facts["float_inputs"];
    say << j.dump(2) << "\n";
    return kOk;
  }
  say << "model     " << model_path.string();
  if (!model_run.empty()) say << " (run " << short_key(model_run) << ")";
  say << ", sha256 " << sha256.substr(0, 16) << "\n";
  say << "dataset   " << dataset << " test set, " << n << " images"
      << (info.root.empty()          ? ""
          : info.root.front() == '(' ? " " + info.root  // "(generated)"
                                     : " (" + info.root + ")")
      << "\n";
  say << "engine    " << facts["backend"].get<std::string>() << ": " << facts["engine"].get<std::string>()
      << ", " << threads << " thread" << (threads == 1 ? "" : "s") << "\n";
  say << "accuracy  " << fraction(correct, n) << "\n";
  if (against) {
    say << "agreement " << fraction(p.agreeing(), n) << " with run " << short_key(run->key)
        << "'s fake-quant model";
    if (stored_agreement) say << " (the run recorded " << shortest_decimal(*stored_agreement) << ")";
    say << "\n";
  }
  if (facts.contains("float_inputs"))
    for (const auto& f : facts["float_inputs"])
      say << "  float input: " << f["layer"].get<std::string>() << ": " << f["reason"].get<std::string>()
          << "\n";
  return kOk;
}

}  // namespace r2q::cli
