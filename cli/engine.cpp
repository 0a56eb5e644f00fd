// Hand-over from `r2q` to `r2q-engine` for the commands that need LibTorch: the engine replaces this process
// (execv: same pid, arguments, environment and standard streams; no shell involved).
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "cli/common.h"
#include "core/util/error.h"
#include "core/util/math_mode.h"

namespace r2q::cli {

std::filesystem::path engine_path() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path(".") : self.parent_path()) / "r2q-engine";
}

void ensure_math_environment(int argc, char** argv) {
  MathMode mode = MathMode::Native;
  try {
    mode = current_math_mode();
    for (int i = 1; i < argc; ++i) {  // the options before the command, as dispatch() reads them
      const std::string arg = argv[i];
      if (arg == "--debug") continue;
      if (arg == "--math" && i + 1 < argc) {
        mode = parse_math_mode(argv[++i], "--math");
      } else if (arg.starts_with("--math=")) {
        mode = parse_math_mode(arg.substr(7), "--math");
      } else {
        break;
      }
    }
  } catch (const InputError&) {
    return;  // dispatch() reports it
  }
  if (mode != MathMode::Portable || portable_environment_is_set()) return;
  const std::string cause = restart_in_math_mode(mode, argv);
  std::cerr << "r2q: error: portable math needs r2q-engine restarted with its variables set, which failed ("
            << cause << "); start it through r2q\n";
  std::exit(kFailed);
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
