// The plugin side of the ABI: a Backend behind C entry points.
#include "backends/plugin/plugin_export.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "core/deploy/model_file.h"
#include "core/util/error.h"

struct r2q_plan {
  r2q::deploy::Model model;
  std::unique_ptr<r2q::backends::Plan> plan;
  r2q::backends::RunResult kept;  // the last run_keeping_accumulators
};

namespace r2q::backends::plugin {
namespace {

Backend* g_backend = nullptr;

void put(r2q_message* m, const std::string& text) {
  if (!m || !m->text || m->size == 0) return;
  const std::size_t n = std::min(text.size(), m->size - 1);
  std::memcpy(m->text, text.data(), n);
  m->text[n] = '\0';
}

r2q_status put_text(const std::string& text, char* out, std::size_t size, std::size_t* needed) {
  if (needed) *needed = text.size() + 1;
  if (!out || size < text.size() + 1) return R2Q_STATUS_TOO_SMALL;
  std::memcpy(out, text.c_str(), text.size() + 1);
  return R2Q_STATUS_OK;
}

// Runs `body`, turning r2q's error kinds into statuses and anything else into FAILED.
template <class F>
r2q_status guarded(r2q_message* message, F&& body) {
  try {
    body();
    return R2Q_STATUS_OK;
  } catch (const InputError& e) {
    put(message, one_line(e.what()));
    return R2Q_STATUS_BAD_INPUT;
  } catch (const std::exception& e) {
    put(message, one_line(e.what()));
    return R2Q_STATUS_FAILED;
  } catch (...) {
    put(message, "unknown failure in backend plugin");
    return R2Q_STATUS_FAILED;
  }
}

deploy::Model decode(const std::uint8_t* bytes, std::size_t size) {
  return deploy::decode_model(std::string_view(reinterpret_cast<const char*>(bytes), size), "model");
}

r2q_status available(r2q_message* why) {
  const std::string reason = g_backend->available();
  if (reason.empty()) return R2Q_STATUS_OK;
  put(why, reason);
  return R2Q_STATUS_UNAVAILABLE;
}

r2q_status device_json(char* out, std::size_t size, std::size_t* needed) {
  const DeviceInfo d = g_backend->device();
  const nlohmann::json j = {
      {"name", d.name}, {"description", d.description}, {"features", d.features}, {"threads", d.threads}};
  return put_text(j.dump(), out, size, needed);
}

r2q_status engines_json(char* out, std::size_t size, std::size_t* needed) {
  return put_text(nlohmann::json(g_backend->engines()).dump(), out, size, needed);
}

r2q_status supports(const std::uint8_t* model, std::size_t model_size, std::size_t layer, r2q_message* why) {
  std::string reason;
  const r2q_status status =
      guarded(why, [&] { reason = g_backend->supports(decode(model, model_size), layer); });
  if (status != R2Q_STATUS_OK) return status;
  if (reason.empty()) return R2Q_STATUS_OK;
  put(why, reason);
  return R2Q_STATUS_BAD_INPUT;
}

r2q_status plan(const std::uint8_t* model, std::size_t model_size, const char* engine, const char* isa,
                int threads, r2q_plan** out, r2q_message* error) {
  return guarded(error, [&] {
    auto p = std::make_unique<r2q_plan>();
    p->model = decode(model, model_size);
    p->plan = g_backend->plan(p->model, {.engine = engine, .isa = isa, .threads = threads});
    *out = p.release();
  });
}

void destroy(r2q_plan* plan) {
  delete plan;
}

deploy::FloatBatch input_batch(const r2q_plan* plan, const float* input, std::int64_t n) {
  deploy::FloatBatch batch(n, plan->model.input);
  std::copy(input, input + batch.data.size(), batch.data.begin());
  return batch;
}

void copy_logits(const deploy::FloatBatch& logits, float* out, std::size_t size) {
  if (logits.data.size() > size) throw InputError("the logits buffer is too small");
  std::copy(logits.data.begin(), logits.data.end(), out);
}

r2q_status run(r2q_plan* plan, const float* input, std::int64_t n, float* logits, std::size_t size,
               r2q_message* error) {
  return guarded(error, [&] { copy_logits(plan->plan->run(input_batch(plan, input, n)), logits, size); });
}

r2q_status run_keeping_accumulators(r2q_plan* plan, const float* input, std::int64_t n, float* logits,
                                    std::size_t size, r2q_message* error) {
  return guarded(error, [&] {
    plan->kept = plan->plan->run_with_accumulators(input_batch(plan, input, n));
    copy_logits(plan->kept.logits, logits, size);
  });
}

r2q_status accumulators(r2q_plan* plan, std::size_t layer, std::int32_t* out, std::size_t size,
                        std::size_t* needed) {
  const auto it = plan->kept.accumulators.find(layer);
  if (it == plan->kept.accumulators.end()) return R2Q_STATUS_BAD_INPUT;
  if (needed) *needed = it->second.data.size();
  if (!out || size < it->second.data.size()) return R2Q_STATUS_TOO_SMALL;
  std::copy(it->second.data.begin(), it->second.data.end(), out);
  return R2Q_STATUS_OK;
}

r2q_status plan_json(r2q_plan* plan, char* out, std::size_t size, std::size_t* needed) {
  const nlohmann::json j = {{"engine", plan->plan->engine()},
                            {"weight_bytes", plan->plan->weight_bytes()},
                            {"layer_paths", plan->plan->layer_paths()}};
  return put_text(j.dump(), out, size, needed);
}

r2q_status set_profiling(r2q_plan* plan, int on) {
  plan->plan->set_profiling(on != 0);
  return R2Q_STATUS_OK;
}

r2q_status layer_seconds(r2q_plan* plan, double* out, std::size_t count) {
  const std::vector<double>& s = plan->plan->layer_seconds();
  if (count < s.size()) return R2Q_STATUS_TOO_SMALL;
  std::copy(s.begin(), s.end(), out);
  return R2Q_STATUS_OK;
}

}  // namespace

const r2q_backend_v1* export_backend(std::unique_ptr<Backend> backend) {
  static std::unique_ptr<Backend> owned;
  static std::string name;
  static r2q_backend_v1 table{};
  owned = std::move(backend);
  g_backend = owned.get();
  name = g_backend->name();
  table = {R2Q_BACKEND_API_VERSION,
           name.c_str(),
           available,
           device_json,
           engines_json,
           supports,
           plan,
           destroy,
           run,
           run_keeping_accumulators,
           accumulators,
           plan_json,
           set_profiling,
           layer_seconds};
  return &table;
}

}  // namespace r2q::backends::plugin
