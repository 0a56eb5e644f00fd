// The error types of r2q's library code. core/ never prints or exits: it throws these, and only cli/ turns
// them into messages and exit codes (InputError -> 2, RunError -> 1).
#pragma once

#include <stdexcept>
#include <string>

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

}  // namespace r2q
