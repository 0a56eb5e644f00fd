// Generated datasets for tests and orchestration benchmarks: each class is a smooth random prototype image;
// samples are the prototype plus noise. The data depends only on the dataset name, never on the run's seed.
#pragma once

#include "core/data/dataset.h"

namespace r2q::data {

struct SyntheticShape {
  int channels = 1, size = 28, classes = 10;
  int64_t train = 2000, test = 500;
};

RawData make_synthetic(const std::string& name, const SyntheticShape& shape);

}  // namespace r2q::data
