// Running the r2q binary from tests: run to completion capturing output, or start in the background to
// signal; optionally under a file-size limit, another umask, or as an unprivileged user.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace r2q::testing {

// How the child is set up before it executes the program.
struct SpawnOptions {
  // The child's working directory (default: the test's).
  std::optional<std::filesystem::path> cwd;
  // RLIMIT_FSIZE in bytes, with SIGXFSZ at its default (the process is killed by it unless it ignores the
  // signal, as r2q does: then a write past the limit fails with EFBIG, like a full disk).
  std::optional<rlim_t> file_size_limit;
  std::optional<mode_t> umask;
  // Run as this uid/gid (with no supplementary groups); for permission tests when the suite runs as root.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out, err;
};

class Process {
 public:
  // Starts argv[0] with stdout/stderr redirected to files in `log_dir`.
  Process(const std::vector<std::string>& argv, const std::filesystem::path& log_dir,
          const std::string& tag = "p", const SpawnOptions& options = {})
      : out_(log_dir / (tag + ".out")), err_(log_dir / (tag + ".err")) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // Between fork and exec only async-signal-safe calls: everything is prepared here.
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork for " + argv[0] + " failed");
    if (pid_ == 0) {
      int in = ::open("/dev/null", O_RDONLY);
      int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0 || ::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
          ::dup2(err, STDERR_FILENO) < 0)
        ::_exit(126);
      if (options.cwd && ::chdir(options.cwd->c_str()) != 0) ::_exit(126);
      if (options.umask) ::umask(*options.umask);
      if (options.file_size_limit) {
        ::signal(SIGXFSZ, SIG_DFL);
        struct rlimit limit {
          *options.file_size_limit, *options.file_size_limit
        };
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(126);
      }
      if (options.gid && (::setgroups(0, nullptr) != 0 || ::setgid(*options.gid) != 0)) ::_exit(126);
      if (options.uid && ::setuid(*options.uid) != 0) ::_exit(126);
      ::execve(args[0], args.data(), environ);
      ::_exit(127);
    }
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

inline ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& log_dir,
                                 const SpawnOptions& options = {}) {
  Process p(argv, log_dir, "run", options);
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
