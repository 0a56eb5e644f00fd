// Process state from /proc/PID/stat (Linux), else from kill(pid, 0).
#include "core/util/process.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

namespace r2q {
namespace {

// The boot time, unix seconds, from /proc/stat's "btime" line.
std::optional<double> boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return std::nullopt;
}

}  // namespace

ProcessState process_state(std::int64_t pid) {
  ProcessState state;
  if (pid <= 0) return state;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) {
    // No /proc entry: the process is gone, or there is no /proc to ask.
    if (::access("/proc/self/stat", R_OK) == 0) return state;
    state.exists = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
    return state;
  }
  state.exists = true;
  // "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so the fields start after the last
  // ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return state;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  fields >> field;
  state.zombie = field == "Z" || field == "X";
  // Field 22, starttime, in clock ticks since boot: fields 4 to 21 come first.
  for (int i = 4; i <= 21 && fields >> field; ++i) {
  }
  unsigned long long ticks = 0;
  if (fields >> ticks)
    if (auto boot = boot_time())
      state.started = *boot + static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return state;
}

std::string hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

}  // namespace r2q
