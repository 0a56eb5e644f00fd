// Teachers (DESIGN §1.5): a run whose loss compares it with a full-precision network, or whose evaluation
// attacks it with examples made on one, needs the FP32 run of the same model, data, training budget and seed.
// That run's config is derived here, so every student that derives the same config shares one teacher run.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

namespace r2q::spec {

// A loss term that compares the student with the teacher is on (kd, structural, adversarial).
bool has_teacher_terms(const nlohmann::json& config);

// The student starts from the teacher's weights (train.init, "auto" meaning: when has_teacher_terms).
bool init_from_teacher(const nlohmann::json& config);

// The teacher's resolved config, or nullopt when the run needs none. The teacher is the same config with
// quant.method fp32, the default (cross-entropy only) loss, random initialisation, the same FGSM and PGD
// evaluation and no transfer attack or deployment backend.
std::optional<nlohmann::json> teacher_config(const nlohmann::json& config);

}  // namespace r2q::spec
