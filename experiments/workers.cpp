// Worker processes of a parallel sweep.
#include "experiments/workers.h"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "core/util/error.h"
#include "core/util/process.h"

extern char** environ;

namespace r2q::sweep {
namespace {

std::string worker_id(pid_t pid) {
  return hostname() + ":" + std::to_string(pid);
}

}  // namespace

WorkerPool::WorkerPool(const std::vector<std::vector<std::string>>& argvs) {
  posix_spawnattr_t attributes;
  ::posix_spawnattr_init(&attributes);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  ::posix_spawnattr_setpgroup(&attributes, 0);  // a new group, led by the worker
  for (std::size_t w = 0; w < argvs.size(); ++w) {
    std::vector<std::string> args = argvs[w];
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (int err = ::posix_spawn(&pid, argv[0], nullptr, &attributes, argv.data(), environ); err != 0) {
      ::posix_spawnattr_destroy(&attributes);
      throw RunError("cannot start worker " + std::to_string(w + 1) + ": " + std::strerror(err));
    }
    pids_.push_back(pid);
  }
  ::posix_spawnattr_destroy(&attributes);
  ended_.assign(pids_.size(), false);
  last_run_.assign(pids_.size(), "");
  running_ = pids_.size();
}

WorkerPool::~WorkerPool() {
  // Only when the parent fails: the workers stop as after Ctrl-C, and are reaped.
  for (std::size_t w = 0; w < pids_.size(); ++w)
    if (!ended_[w]) {
      ::kill(pids_[w], SIGTERM);
      ::waitpid(pids_[w], nullptr, 0);
    }
}

std::vector<WorkerExit> WorkerPool::poll(store::Store& store, bool stop) {
  if (stop && !forwarded_) {
    forwarded_ = true;
    for (std::size_t w = 0; w < pids_.size(); ++w)
      if (!ended_[w]) ::kill(pids_[w], SIGTERM);
  }
  std::map<std::string, std::string> holders = store.holders();
  std::map<std::string, std::size_t> index_of;
  for (std::size_t w = 0; w < pids_.size(); ++w) index_of[worker_id(pids_[w])] = w;
  for (const auto& [key, holder] : holders)
    if (auto it = index_of.find(holder); it != index_of.end()) last_run_[it->second] = key;

  std::vector<WorkerExit> exits;
  for (std::size_t w = 0; w < pids_.size(); ++w) {
    if (ended_[w]) continue;
    int status = 0;
    if (::waitpid(pids_[w], &status, WNOHANG) != pids_[w]) continue;
    ended_[w] = true;
    --running_;
    WorkerExit e{static_cast<int>(w), pids_[w], 0, 0, "", false};
    if (!WIFSIGNALED(status)) {
      e.exit_code = WEXITSTATUS(status);
      exits.push_back(e);
      continue;
    }
    // Killed (the OOM killer, kill -9): it said nothing itself. Hand its runs back; a survivor may already
    // have found the holder dead and resumed its last run.
    e.signal = WTERMSIG(status);
    const std::string me = worker_id(pids_[w]);
    for (const auto& [key, holder] : store.holders()) {
      if (key == last_run_[w] && holder != me) {
        e.runs = key.substr(0, 12);
        e.taken_over = true;
      }
      if (holder != me) continue;
      e.runs += (e.runs.empty() ? "" : ", ") + key.substr(0, 12);
      try {
        store.release(key, me, "worker killed by " + signal_name(e.signal));
      } catch (const Error&) {
        // Reclaimed by another worker meanwhile.
      }
    }
    exits.push_back(e);
  }
  return exits;
}

void stop_with_parent() {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
}

std::string signal_name(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(signal);
}

}  // namespace r2q::sweep
