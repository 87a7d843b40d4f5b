// Domain exceptions: what the CLI turns into exit codes and one-line messages.
// Leaves out tensor invariants, which use TORCH_CHECK.
//
//   throw elarin::UsageError("--threads: got -1, expected a positive integer");  // exit 2
//   throw elarin::Error("cannot open 'x.safetensors': No such file");           // exit 1
#pragma once

#include <stdexcept>
#include <string>

namespace elarin {

// A runtime failure: bad file, missing dataset, failed I/O. `elarin` exits with 1.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The user asked for something malformed: unknown flag, bad value. `elarin` exits with 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// A file exists but its content breaks its format (safetensors, IDX, WAV, config).
class FormatError : public Error {
 public:
  using Error::Error;
};

// strerror(errno) as a std::string, for messages.
std::string errno_message(int err);

}  // namespace elarin
