// A count of heap allocations made through the global operator new, for tests that check that a code path
// allocates nothing. Linking allocation_counter.cpp replaces the global operators of that test binary.
#pragma once

namespace r2q::testing {

// Allocations (plain and aligned operator new, hence every std container) since the program started.
long allocation_count();

}  // namespace r2q::testing
