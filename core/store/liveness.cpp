// Liveness of run holders.
#include "core/store/liveness.h"

#include <chrono>

#include "core/util/process.h"

namespace r2q::store {

bool holder_alive(const RunRecord& run, double stale_after_seconds) {
  if (run.host && *run.host == hostname()) {
    // A long evaluation, or a short --stale-after, must not hand a live worker's run to a second one. A
    // zombie does no more work.
    const ProcessState p = process_state(run.pid);
    if (!p.exists || p.zombie) return false;
    return !(p.started && run.heartbeat && *p.started > *run.heartbeat + 2);
  }
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return run.heartbeat && now - *run.heartbeat <= stale_after_seconds;
}

}  // namespace r2q::store
