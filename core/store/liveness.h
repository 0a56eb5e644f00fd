// Whether the worker that holds a running run is still at work: the rule every sweep and `r2q status` apply.
#pragma once

#include "core/store/store.h"

namespace r2q::store {

// On this host the holder's process answers, whatever its heartbeat says: alive unless it is gone, a zombie,
// or a newer process that reuses its pid (started after the holder's last heartbeat). On another host: alive
// while its heartbeat is at most `stale_after_seconds` old.
bool holder_alive(const RunRecord& run, double stale_after_seconds);

}  // namespace r2q::store
