// The schema ladder of the store: migrations[i] takes a store from schema version i to i + 1.
#pragma once

#include <string_view>
#include <vector>

namespace r2q::store {

const std::vector<std::string_view>& migrations();

}  // namespace r2q::store
