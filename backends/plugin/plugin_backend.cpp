// Loading backend plugins and wrapping their C tables.
#include "backends/plugin/plugin_backend.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "backends/plugin/backend_plugin.h"
#include "core/deploy/model_file.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::backends::plugin {
namespace {

constexpr std::string_view kPrefix = "libr2q-backend-", kSuffix = ".so";

// A message buffer for one call.
struct Message {
  char text[1024] = {};
  r2q_message view{text, sizeof text};
};

[[noreturn]] void fail(const std::string& backend, r2q_status status, const char* text) {
  const std::string message = backend + ": " + (*text ? text : "failed without a message");
  if (status == R2Q_STATUS_FAILED) throw RunError(message);
  throw InputError(message);
}

// Text a plugin writes into a buffer of ours (asked again when it does not fit).
template <class F>
std::string text_of(F&& call) {
  std::string out(256, '\0');
  std::size_t needed = 0;
  if (call(out.data(), out.size(), &needed) == R2Q_STATUS_TOO_SMALL) {
    out.assign(needed, '\0');
    call(out.data(), out.size(), &needed);
  }
  return out.c_str();
}

std::string model_bytes(const deploy::Model& model) {
  return deploy::encode_model(model, "model");
}

class PluginPlan : public Plan {
 public:
  PluginPlan(const r2q_backend_v1* t, r2q_plan* plan, const deploy::Model& model)
      : t_(t), plan_(plan), model_(model), shapes_(deploy::validate(model)) {
    const nlohmann::json info =
        nlohmann::json::parse(text_of([&](char* out, std::size_t size, std::size_t* needed) {
          return t_->plan_json(plan_, out, size, needed);
        }));
    engine_ = info.at("engine").get<std::string>();
    weight_bytes_ = info.at("weight_bytes").get<std::size_t>();
    paths_ = info.at("layer_paths").get<std::vector<std::string>>();
  }
  ~PluginPlan() override { t_->destroy(plan_); }

  const deploy::FloatBatch& run(const deploy::FloatBatch& input) override {
    check(input);
    logits_ = deploy::FloatBatch(input.n, shapes_.at(model_.output));
    Message m;
    if (const r2q_status s =
            t_->run(plan_, input.data.data(), input.n, logits_.data.data(), logits_.data.size(), &m.view);
        s != R2Q_STATUS_OK)
      fail(t_->name, s, m.text);
    if (profiling_) read_layer_seconds();
    return logits_;
  }

  RunResult run_with_accumulators(const deploy::FloatBatch& input) override {
    check(input);
    RunResult result{deploy::FloatBatch(input.n, shapes_.at(model_.output)), {}};
    Message m;
    if (const r2q_status s = t_->run_keeping_accumulators(
            plan_, input.data.data(), input.n, result.logits.data.data(), result.logits.data.size(), &m.view);
        s != R2Q_STATUS_OK)
      fail(t_->name, s, m.text);
    for (std::size_t i = 0; i < model_.layers.size(); ++i) {
      const deploy::Layer& l = model_.layers[i];
      if ((l.op != deploy::Op::Conv2d && l.op != deploy::Op::Linear) || !l.conv.integer()) continue;
      deploy::Shape shape = shapes_.at(l.output);
      if (l.conv.input_affine.on) shape.c *= l.conv.in_channels;  // per input channel (reference.h)
      deploy::IntBatch acc(input.n, shape);
      std::size_t needed = 0;
      if (t_->accumulators(plan_, i, acc.data.data(), acc.data.size(), &needed) == R2Q_STATUS_OK)
        result.accumulators.emplace(i, std::move(acc));
    }
    return result;
  }

  std::string engine() const override { return engine_; }
  std::size_t weight_bytes() const override { return weight_bytes_; }
  std::vector<std::string> layer_paths() const override { return paths_; }
  void set_profiling(bool on) override {
    profiling_ = on;
    t_->set_profiling(plan_, on ? 1 : 0);
    if (!on) seconds_.clear();
  }
  const std::vector<double>& layer_seconds() const override { return seconds_; }

 private:
  void check(const deploy::FloatBatch& input) const {
    if (!(input.shape == model_.input))
      throw InputError(std::string(t_->name) + ": the input is not of the model's input shape");
  }
  void read_layer_seconds() {
    seconds_.assign(model_.layers.size(), 0.0);
    t_->layer_seconds(plan_, seconds_.data(), seconds_.size());
  }

  const r2q_backend_v1* t_;
  r2q_plan* plan_;
  deploy::Model model_;
  std::map<int, deploy::Shape> shapes_;
  deploy::FloatBatch logits_;
  std::string engine_;
  std::size_t weight_bytes_ = 0;
  std::vector<std::string> paths_;
  bool profiling_ = false;
  std::vector<double> seconds_;
};

class PluginBackend : public Backend {
 public:
  PluginBackend(const r2q_backend_v1* t, std::filesystem::path library)
      : t_(t), library_(std::move(library)) {}

  std::string name() const override { return t_->name; }
  std::string available() const override {
    Message m;
    return t_->available(&m.view) == R2Q_STATUS_OK ? "" : std::string(m.text);
  }
  DeviceInfo device() const override {
    const nlohmann::json j =
        nlohmann::json::parse(text_of([&](char* out, std::size_t size, std::size_t* needed) {
          return t_->device_json(out, size, needed);
        }));
    return {j.value("name", std::string()), j.value("description", std::string()),
            j.value("features", std::vector<std::string>{}), j.value("threads", 1)};
  }
  std::vector<std::string> engines() const override {
    return nlohmann::json::parse(text_of([&](char* out, std::size_t size, std::size_t* needed) {
             return t_->engines_json(out, size, needed);
           }))
        .get<std::vector<std::string>>();
  }
  std::string supports(const deploy::Model& model, std::size_t layer) const override {
    const std::string bytes = model_bytes(model);
    Message m;
    return t_->supports(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), layer, &m.view) ==
                   R2Q_STATUS_OK
               ? ""
               : std::string(m.text);
  }
  std::unique_ptr<Plan> plan(const deploy::Model& model, const PlanOptions& options) const override {
    const std::string bytes = model_bytes(model);
    Message m;
    r2q_plan* plan = nullptr;
    if (const r2q_status s =
            t_->plan(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(),
                     options.engine.c_str(), options.isa.c_str(), options.threads, &plan, &m.view);
        s != R2Q_STATUS_OK)
      fail(t_->name, s, m.text);
    return std::make_unique<PluginPlan>(t_, plan, model);
  }

 private:
  const r2q_backend_v1* t_;
  std::filesystem::path library_;
};

// A backend that cannot run here, and why (a plugin library missing or broken).
class UnavailableBackend : public Backend {
 public:
  UnavailableBackend(std::string name, std::string why) : name_(std::move(name)), why_(std::move(why)) {}
  std::string name() const override { return name_; }
  std::string available() const override { return why_; }
  DeviceInfo device() const override { return {name_, "unavailable", {}, 0}; }
  std::vector<std::string> engines() const override { return {}; }
  std::string supports(const deploy::Model&, std::size_t) const override { return why_; }
  std::unique_ptr<Plan> plan(const deploy::Model&, const PlanOptions&) const override {
    throw InputError("backend " + quoted_value(name_) + " is not available here: " + why_);
  }

 private:
  std::string name_, why_;
};

// "cuda" of libr2q-backend-cuda.so; "" for another file name.
std::string plugin_name(const std::filesystem::path& file) {
  const std::string f = file.filename().string();
  if (!f.starts_with(kPrefix) || !f.ends_with(kSuffix) || f.size() <= kPrefix.size() + kSuffix.size())
    return "";
  return f.substr(kPrefix.size(), f.size() - kPrefix.size() - kSuffix.size());
}

}  // namespace

std::unique_ptr<Backend> load(const std::filesystem::path& library) {
  // Never unloaded: plans and tables of a plugin live as long as the process.
  void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    throw InputError(library.string() + ": cannot be loaded (" + (why ? one_line(why) : "dlopen failed") +
                     ")");
  }
  auto init = reinterpret_cast<r2q_backend_init_fn>(::dlsym(handle, R2Q_BACKEND_INIT_SYMBOL));
  if (!init)
    throw InputError(library.string() + ": not an r2q backend plugin (no " R2Q_BACKEND_INIT_SYMBOL ")");
  const r2q_backend_v1* table = init(R2Q_BACKEND_API_VERSION);
  if (!table) throw InputError(library.string() + ": the plugin did not initialise");
  if (table->api_version != R2Q_BACKEND_API_VERSION)
    throw InputError(library.string() + ": plugin API version " + std::to_string(table->api_version) +
                     ", this r2q speaks version " + std::to_string(R2Q_BACKEND_API_VERSION) +
                     " (rebuild the plugin with this r2q)");
  return std::make_unique<PluginBackend>(table, library);
}

std::vector<std::filesystem::path> search_path() {
  std::vector<std::filesystem::path> dirs;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(self.parent_path());
  if (const char* env = std::getenv("R2Q_BACKEND_PATH"); env && *env)
    for (const std::string& d : split(env, ':'))
      if (!d.empty()) dirs.emplace_back(d);
  return dirs;
}

void register_plugins(BackendRegistry& registry, const std::vector<std::string>& expected) {
  for (const auto& dir : search_path()) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (!plugin_name(it->path()).empty()) files.push_back(it->path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const std::string name = plugin_name(file);
      if (registry.contains(name)) continue;
      try {
        auto backend = load(file);
        const std::string loaded = backend->name();
        if (!registry.contains(loaded)) registry.add(loaded, std::move(backend));
      } catch (const InputError& e) {
        registry.add(name, std::make_unique<UnavailableBackend>(name, e.what()));
      }
    }
  }
  for (const std::string& name : expected)
    if (!registry.contains(name))
      registry.add(name,
                   std::make_unique<UnavailableBackend>(
                       name, "its plugin library " + std::string(kPrefix) + name + std::string(kSuffix) +
                                 " is not installed beside r2q or in R2Q_BACKEND_PATH (it is built where the "
                                 "CUDA Toolkit is found)"));
}

}  // namespace r2q::backends::plugin
