// What this host knows of a process by its pid: whether it exists, whether it is a zombie, when it started.
// Used to judge whether the worker that holds a run is still at work (store::holder_alive,
// core/store/liveness.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace r2q {

struct ProcessState {
  bool exists = false;
  // Exited but not yet reaped by its parent (in a container without an init process, possibly never): it does
  // no more work.
  bool zombie = false;
  std::optional<double> started;  // unix seconds, to about a second; unknown without /proc
};

ProcessState process_state(std::int64_t pid);

// This machine's host name ("unknown" when it has none), as workers record it in the store.
std::string hostname();

}  // namespace r2q
