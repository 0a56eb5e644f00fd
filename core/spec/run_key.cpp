// Canonical JSON and the run key.
#include "core/spec/run_key.h"

#include "core/spec/schema.h"
#include "core/util/sha256.h"

namespace r2q::spec {

std::string canonical_json(const nlohmann::json& value) {
  // nlohmann::json keeps object keys sorted and prints doubles with the shortest round-trip form (Grisu2),
  // integers as integers; the schema has already typed every number, so the text is canonical.
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

static void diff(const nlohmann::json& value, const nlohmann::json& defaults, nlohmann::json& out) {
  for (auto it = value.begin(); it != value.end(); ++it) {
    auto d = defaults.find(it.key());
    if (it->is_object() && d != defaults.end() && d->is_object()) {
      nlohmann::json sub = nlohmann::json::object();
      diff(*it, *d, sub);
      if (!sub.empty()) out[it.key()] = sub;
    } else if (d == defaults.end() || *d != *it) {
      out[it.key()] = *it;
    }
  }
}

nlohmann::json sparse_config(const nlohmann::json& config) {
  nlohmann::json out = nlohmann::json::object();
  diff(config, default_config(), out);
  return out;
}

std::string run_key(const nlohmann::json& config) {
  return sha256_hex(std::string(kSemanticsVersion) + "\n" + canonical_json(sparse_config(config)));
}

}  // namespace r2q::spec
