// Metric names of the store (DESIGN §4). Accuracies are fractions in [0, 1].
#pragma once

#include <string>

#include "core/util/text.h"

namespace r2q::metric {

inline constexpr const char* kTrainLoss = "train/loss";
inline constexpr const char* kTrainAcc = "train/acc";
inline constexpr const char* kLearningRate = "train/lr";
inline constexpr const char* kEpochSeconds = "train/epoch_seconds";
inline constexpr const char* kTrainSeconds = "train/seconds";
inline constexpr const char* kImagesPerSecond = "train/images_per_s";
inline constexpr const char* kValAcc = "val/acc";
inline constexpr const char* kTestAcc = "test/acc";
inline constexpr const char* kEvalSeconds = "eval/seconds";

inline std::string fgsm_acc(double eps) {
  return "test/fgsm/" + shortest_decimal(eps) + "/acc";
}

inline std::string pgd_acc(int steps, double eps) {
  return "test/pgd" + std::to_string(steps) + "/" + shortest_decimal(eps) + "/acc";
}

inline std::string transfer_fgsm_acc(double eps) {
  return "test/transfer-fgsm/" + shortest_decimal(eps) + "/acc";
}

// The test set on a deployment backend (eval.backend): accuracy, the fraction of predictions equal to the
// LibTorch model's, and the median batch-1 latency.
inline std::string deploy_acc(const std::string& backend) {
  return "deploy/" + backend + "/acc";
}
inline std::string deploy_agreement(const std::string& backend) {
  return "deploy/" + backend + "/agreement";
}
inline std::string deploy_latency_us(const std::string& backend) {
  return "deploy/" + backend + "/latency_us";
}

// Per-epoch mean of one loss term (unweighted), recorded when more than one term is on.
inline std::string term_loss(const std::string& term) {
  return "train/loss/" + term;
}

}  // namespace r2q::metric
