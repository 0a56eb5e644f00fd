// The error types of r2q's library code. core/ never prints or exits: it throws these, and only cli/ turns
// them into messages and exit codes (InputError -> 2, RunError -> 1).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace r2q {

// Base of every error r2q raises on purpose. The message names the file, field or value that is wrong.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input: a spec, a flag, a data file, a store from a newer r2q. Nothing was changed.
class InputError : public Error {
 public:
  using Error::Error;
};

// A run or a check failed (divergence, an I/O failure while training).
class RunError : public Error {
 public:
  using Error::Error;
};

// The user asked to stop (SIGINT/SIGTERM). The run in progress resumes from its last checkpoint next time.
class Interrupted : public Error {
 public:
  using Error::Error;
};

// An exception's message as one line, for users and the store's error column. LibTorch's errors (c10::Error)
// append "Exception raised from ..." and a stack trace to their message: that part is dropped, and the lines
// that remain are joined with "; ".
inline std::string one_line(std::string_view what) {
  if (const auto trace = what.find("\nException raised from "); trace != std::string_view::npos)
    what = what.substr(0, trace);
  std::string out;
  for (std::size_t begin = 0; begin <= what.size();) {
    std::size_t end = what.find('\n', begin);
    if (end == std::string_view::npos) end = what.size();
    std::string_view line = what.substr(begin, end - begin);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (!line.empty()) out += (out.empty() ? "" : "; ") + std::string(line);
    begin = end + 1;
  }
  return out;
}

// R2Q_DEBUG set (and not "0"): full messages and traces on the console (`r2q --debug` sets it).
bool debug_enabled();

}  // namespace r2q
