// The message of the r2q::InputError a call throws, for tests that check what an error names.
#pragma once

#include <string>

#include "core/util/error.h"

namespace r2q::testing {

// The InputError message of f(), or "(no error)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace r2q::testing
