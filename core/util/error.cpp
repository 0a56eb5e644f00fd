// The debug switch of error reporting.
#include <cstdlib>
#include <string_view>

#include "core/util/error.h"

namespace r2q {

bool debug_enabled() {
  const char* value = std::getenv("R2Q_DEBUG");
  return value && *value && std::string_view(value) != "0";
}

}  // namespace r2q
