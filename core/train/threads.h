// Thread and seed set-up. LibTorch's intra-op pool must be sized explicitly (it runs one thread here
// otherwise).
#pragma once

#include <cstdint>

namespace r2q::train {

// Sets LibTorch's intra-op threads: `requested`, or every core when 0. Returns the number used.
int configure_threads(int requested);

// Seeds LibTorch's global generator (parameter initialisation). Data order and augmentation use their own
// generators derived from the seed (core/data/loader.h).
void seed_everything(std::uint64_t seed);

}  // namespace r2q::train
