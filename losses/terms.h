// Builders of the built-in loss terms (one source file each), for the registry.
#pragma once

#include "losses/term.h"

namespace r2q::losses {

LossTermPtr make_ce(const TermSetup& setup);
LossTermPtr make_kd(const TermSetup& setup);
LossTermPtr make_structural(const TermSetup& setup);
LossTermPtr make_adversarial(const TermSetup& setup);
LossTermPtr make_perturbation(const TermSetup& setup);
LossTermPtr make_spectral(const TermSetup& setup);

}  // namespace r2q::losses
