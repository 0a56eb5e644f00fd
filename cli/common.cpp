// Shared CLI helpers.
#include "cli/common.h"

#include "core/util/text.h"

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>

namespace r2q::cli {

bool parse(const std::string& command, const std::string& usage, const std::vector<std::string>& args,
           po::options_description& options, const po::positional_options_description& positional,
           po::variables_map& vm) {
  options.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: r2q " << command << " " << usage << "\n\n" << options << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + "\nusage: r2q " + command + " " + usage + "  (r2q " + command +
                     " --help for details)");
  }
  return true;
}

std::filesystem::path default_db() {
  if (const char* env = std::getenv("R2Q_DB"); env && *env) return env;
  return "runs/r2q.db";
}

void add_db_option(po::options_description& options) {
  options.add_options()("db", po::value<std::string>()->value_name("FILE"),
                        ("SQLite store (default: $R2Q_DB or " + default_db().string() + ")").c_str());
}

std::filesystem::path db_path(const po::variables_map& vm) {
  return vm.count("db") ? std::filesystem::path(vm["db"].as<std::string>()) : default_db();
}

int int_option(const po::variables_map& vm, const std::string& name, int min, int max) {
  const int value = vm[name].as<int>();
  if (value < min || value > max)
    throw UsageError("--" + name + ": " + std::to_string(value) + " is out of range (expected " +
                     std::to_string(min) + " to " + std::to_string(max) + ")");
  return value;
}

double seconds_option(const po::variables_map& vm, const std::string& name) {
  const double value = vm[name].as<double>();
  if (!std::isfinite(value) || value <= 0)
    throw UsageError("--" + name + ": " + shortest_decimal(value) +
                     " is not a duration (expected a finite number of seconds > 0)");
  return value;
}

namespace {
std::atomic<bool> g_stop{false};

extern "C" void on_signal(int sig) {
  if (g_stop.exchange(true)) {
    // Second signal: the user means it. Default action, re-raised.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  const char msg[] =
      "\nr2q: stopping after the current batch (the run resumes from its last checkpoint); "
      "press Ctrl-C again to abort now\n";
  ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}
}  // namespace

const std::atomic<bool>* install_stop_handler() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return &g_stop;
}

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}
bool stdout_is_terminal() {
  return ::isatty(STDOUT_FILENO) == 1;
}
bool use_color() {
  const char* no_color = std::getenv("NO_COLOR");
  return stderr_is_terminal() && !(no_color && *no_color);
}

}  // namespace r2q::cli
