// Running the r2q binary from tests: run to completion capturing output, or start in the background to
// signal.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace r2q::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out, err;
};

class Process {
 public:
  // Starts argv[0] with stdout/stderr redirected to files in `log_dir`.
  Process(const std::vector<std::string>& argv, const std::filesystem::path& log_dir,
          const std::string& tag = "p")
      : out_(log_dir / (tag + ".out")), err_(log_dir / (tag + ".err")) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed");
  }
  ~Process() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void signal(int sig) { ::kill(pid_, sig); }

  ProcessResult wait() {
    int status = finished_status_;
    if (!reaped_) ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ProcessResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out_);
    r.err = slurp(err_);
    return r;
  }

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == 0) return true;
    finished_status_ = status;
    reaped_ = true;
    return false;
  }

 private:
  static std::string slurp(const std::filesystem::path& p) {
    FILE* f = std::fopen(p.c_str(), "rb");
    if (!f) return {};
    std::string s;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
    std::fclose(f);
    return s;
  }

  pid_t pid_ = -1;
  int finished_status_ = 0;
  bool reaped_ = false;
  std::filesystem::path out_, err_;
};

inline ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& log_dir) {
  Process p(argv, log_dir, "run");
  return p.wait();
}

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <class F>
bool wait_until(F&& condition, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace r2q::testing
