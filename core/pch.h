// Precompiled header for translation units that use LibTorch (keeps builds fast on small machines).
#pragma once

#include <torch/torch.h>
