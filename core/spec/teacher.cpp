// Teacher configs.
#include "core/spec/teacher.h"

#include "core/spec/schema.h"

namespace r2q::spec {

using nlohmann::json;

bool has_teacher_terms(const json& config) {
  const json& loss = config.at("loss");
  return loss.at("kd").get<double>() > 0 || loss.at("structural").get<double>() > 0 ||
         loss.at("adversarial").get<double>() > 0;
}

bool init_from_teacher(const json& config) {
  const std::string init = config.at("train").at("init");
  return init == "teacher" || (init == "auto" && has_teacher_terms(config));
}

std::optional<json> teacher_config(const json& config) {
  const bool transfer = config.at("eval").at("transfer").get<bool>();
  if (!has_teacher_terms(config) && !init_from_teacher(config) && !transfer) return std::nullopt;
  json teacher = config;
  const json defaults = default_config();
  teacher["quant"] = defaults["quant"];
  teacher["quant"]["method"] = "fp32";
  teacher["loss"] = defaults["loss"];
  teacher["train"]["init"] = "scratch";
  teacher["eval"]["transfer"] = false;
  teacher["eval"]["backend"] = nullptr;
  // Through finish(): normalised like any other config (fp32 bit-widths, "scratch" -> "auto").
  return teacher;
}

}  // namespace r2q::spec
