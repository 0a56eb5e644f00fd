// The loss settings of a run (the "loss" object of its config, DESIGN §1.4), parsed with the rest of the run
// config (core/spec/run_config.h).
#pragma once

#include "core/spec/run_config.h"

namespace r2q::losses {

using LossConfig = spec::LossConfig;

}  // namespace r2q::losses
