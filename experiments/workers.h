// `sweep -j N`: N worker processes (fresh processes: LibTorch's thread pools do not survive fork) sharing one
// store. Each worker is a process group of its own, so that a signal reaches it once, from the parent that
// forwards it: Ctrl-C on a terminal, `kill PID` and Kubernetes' SIGTERM to PID 1 alike. A worker whose parent
// dies gets SIGTERM from the kernel (it sets PR_SET_PDEATHSIG: stop_with_parent()).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/store/store.h"

namespace r2q::sweep {

// How a worker ended.
struct WorkerExit {
  int index = 0;  // 0-based
  pid_t pid = 0;
  int exit_code = 0;        // its exit status; 0 when killed
  int signal = 0;           // the signal that killed it, 0 when it exited
  std::string runs;         // killed: the runs (key prefixes) it held, handed back or already taken over
  bool taken_over = false;  // killed: another worker has already resumed its run
};

class WorkerPool {
 public:
  // Starts one process per argument vector (argv[0] is the executable). Throws RunError when one cannot
  // start.
  explicit WorkerPool(const std::vector<std::vector<std::string>>& argvs);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // One round: forwards SIGTERM to every live worker the first time `stop` is true, notes which run each
  // worker holds, and reaps the workers that ended. A killed worker's runs are handed back (pending,
  // checkpoint kept) unless another worker has already taken them over. Returns the workers that ended in
  // this round.
  std::vector<WorkerExit> poll(store::Store& store, bool stop);
  bool running() const { return running_ > 0; }
  bool stop_forwarded() const { return forwarded_; }

 private:
  std::vector<pid_t> pids_;
  std::vector<bool> ended_;
  std::vector<std::string> last_run_;  // the run each worker was last seen holding
  std::size_t running_ = 0;
  bool forwarded_ = false;
};

// In a worker: stop like after Ctrl-C (SIGTERM) when the parent process dies.
void stop_with_parent();

// "SIGKILL" for 9; "signal N" when the system has no name for it.
std::string signal_name(int signal);

}  // namespace r2q::sweep
