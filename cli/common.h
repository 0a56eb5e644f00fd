// Shared pieces of the subcommands: option parsing with clear errors, the default store, signals, output.
#pragma once

#include <atomic>
#include <boost/program_options.hpp>
#include <filesystem>
#include <string>
#include <vector>

namespace r2q::cli {

namespace po = boost::program_options;

// Exit codes (DESIGN §5).
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;
inline constexpr int kBadInput = 2;
inline constexpr int kInterrupted = 130;

// Thrown for bad command-line usage; main() prints it with the command's usage line and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Command {
  const char* name;
  const char* summary;
  // Null in `r2q` for the commands that need LibTorch: those run in r2q-engine.
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

// Parses argv, runs the command and maps errors to exit codes; both executables' main.
int dispatch(int argc, char** argv);

// Replaces this process with r2q-engine (beside this executable) and the same arguments; returns only on
// failure, after saying why (exit code 2).
int exec_engine(int argc, char** argv);
// r2q-engine, first thing in main: when the math mode (--math before the command, else R2Q_MATH) is portable
// and its variables are not all set, sets them and executes itself again, so that the libraries load with
// them (core/util/math_mode.h). Exits with kFailed when that fails.
void ensure_math_environment(int argc, char** argv);
std::filesystem::path engine_path();

// Parses `args` against `options` (+ positionals). Prints help and returns false on --help.
bool parse(const std::string& command, const std::string& usage, const std::vector<std::string>& args,
           po::options_description& options, const po::positional_options_description& positional,
           po::variables_map& vm);

// --db: the flag, else $R2Q_DB, else runs/r2q.db.
std::filesystem::path default_db();
void add_db_option(po::options_description& options);
std::filesystem::path db_path(const po::variables_map& vm);

// Numeric options checked against their range: the value, or a UsageError naming the option and the value.
int int_option(const po::variables_map& vm, const std::string& name, int min, int max);
// A duration in seconds: finite and > 0.
double seconds_option(const po::variables_map& vm, const std::string& name);
// --threads: 0 (the spec's value, else all cores) up to the spec's own limit for `threads`.
inline constexpr int kMaxThreads = 4096;

// SIGINT/SIGTERM set this flag; a second signal exits at once.
const std::atomic<bool>* install_stop_handler();

bool stderr_is_terminal();
bool stdout_is_terminal();
bool use_color();

}  // namespace r2q::cli
