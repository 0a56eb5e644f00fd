// Hand-over from `r2q` to `r2q-engine` for the commands that need LibTorch: the engine replaces this process
// (execv: same pid, arguments, environment and standard streams; no shell involved).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "cli/common.h"

namespace r2q::cli {

std::filesystem::path engine_path() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path(".") : self.parent_path()) / "r2q-engine";
}

int exec_engine(int argc, char** argv) {
  const auto engine = engine_path();
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  ::execv(engine.c_str(), args.data());
  const int err = errno;
  std::cerr << "r2q " << (argc > 1 ? argv[1] : "") << ": error: this command runs in " << engine.string()
            << ", which "
            << (err == ENOENT ? "is not installed" : "cannot be started: " + std::string(std::strerror(err)))
            << " (install r2q-engine beside r2q: it is built with it)\n";
  return kBadInput;
}

}  // namespace r2q::cli
