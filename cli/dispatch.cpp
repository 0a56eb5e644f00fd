// r2q's command line: dispatches to one file per subcommand and turns errors into messages and exit codes
// (0 ok, 1 a run or check failed, 2 bad usage or input). Shared by the two executables (cli/main.cpp).
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "cli/common.h"
#include "core/util/error.h"
#include "core/util/math_mode.h"
#include "core/util/text.h"

namespace {

void print_usage(std::ostream& out) {
  out << "usage: r2q [--debug] [--math portable|native] <command> [options]\n"
         "  r2q <command> --help: its options; --debug: errors in full; --math portable: the same result "
         "bits\n"
         "  on every x86-64 CPU with AVX2 (R2Q_MATH; docs/REPORTS.md), native (the default): fastest\n\n"
         "commands:\n";
  for (const auto& c : r2q::cli::commands()) {
    std::string name = c.name;
    out << "  " << name << std::string(name.size() < 10 ? 10 - name.size() : 1, ' ') << c.summary << "\n";
  }
}

}  // namespace

namespace r2q::cli {

int dispatch(int argc, char** argv) {
  // A write past the file-size limit (ulimit -f, RLIMIT_FSIZE) would kill the process without a word;
  // ignored, it fails with EFBIG ("File too large") and is handled like a full disk: the command says which
  // file, the store stays intact. The setting is inherited by r2q-engine and the sweep workers.
  ::signal(SIGXFSZ, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  // Options before the command, which r2q-engine and -j workers inherit through the environment (r2q-engine
  // gets the original arguments and strips them again): --debug, full error messages (R2Q_DEBUG=1);
  // --math portable|native, the math mode (R2Q_MATH, core/util/math_mode.h).
  try {
    std::optional<MathMode> math;
    while (!args.empty()) {
      if (args[0] == "--debug") {
        ::setenv("R2Q_DEBUG", "1", 1);
        args.erase(args.begin());
      } else if (args[0] == "--math" || args[0].starts_with("--math=")) {
        std::string value;
        if (args[0] != "--math") {
          value = args[0].substr(7);
          args.erase(args.begin());
        } else if (args.size() < 2) {
          throw InputError("--math: expects portable or native");
        } else {
          value = args[1];
          args.erase(args.begin(), args.begin() + 2);
        }
        math = parse_math_mode(value, "--math");
      } else {
        break;
      }
    }
    apply_math_mode(math ? *math : current_math_mode());  // also checks R2Q_MATH
  } catch (const InputError& e) {
    std::cerr << "r2q: error: " << one_line(e.what()) << "\n";
    return kBadInput;
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? kBadInput : kOk;
  }
  if (args[0] == "--version") args[0] = "version";
  const Command* command = nullptr;
  std::vector<std::string> names;
  for (const auto& c : commands()) {
    names.emplace_back(c.name);
    if (args[0] == c.name) command = &c;
  }
  if (!command) {
    std::string hint = closest_match(args[0], names);
    std::cerr << "r2q: unknown command " << quoted_value(args[0])
              << (hint.empty() ? "" : "; did you mean " + quoted_value(hint) + "?") << "\n";
    print_usage(std::cerr);
    return kBadInput;
  }
  if (!command->run) return exec_engine(argc, argv);
  // One line per error, the cause only; R2Q_DEBUG (or --debug) shows everything, LibTorch's traces included.
  auto message = [](const std::exception& e) {
    return debug_enabled() ? std::string(e.what()) : one_line(e.what());
  };
  try {
    return command->run(std::vector<std::string>(args.begin() + 1, args.end()));
  } catch (const UsageError& e) {
    std::cerr << "r2q " << command->name << ": " << e.what() << "\n";
    return kBadInput;
  } catch (const InputError& e) {
    std::cerr << "r2q " << command->name << ": error: " << message(e) << "\n";
    return kBadInput;
  } catch (const Interrupted& e) {
    std::cerr << "r2q " << command->name << ": " << message(e) << "\n";
    return kInterrupted;
  } catch (const Error& e) {
    std::cerr << "r2q " << command->name << ": error: " << message(e) << "\n";
    return kFailed;
  } catch (const std::bad_alloc&) {
    std::cerr << "r2q " << command->name << ": error: out of memory\n";
    return kFailed;
  } catch (const std::exception& e) {
    std::cerr << "r2q " << command->name << ": internal error: " << message(e)
              << (debug_enabled() ? "" : " (R2Q_DEBUG=1 shows the details)") << "\n";
    return kFailed;
  }
}

}  // namespace r2q::cli
