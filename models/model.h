// What every model file uses: a model implements nn::Network (core/nn/network.h) and describes its forward
// pass to an nn::DeployBuilder (core/nn/to_deploy.h). The interface's names, used unqualified in models/.
#pragma once

#include "core/nn/network.h"

namespace r2q::models {

using nn::InputShape;
using nn::Network;
using nn::NetworkPtr;
using nn::Normalize;
using nn::NormalizeImpl;
using nn::StagedOutput;

}  // namespace r2q::models
