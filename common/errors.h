// Exception types that carry the CLI exit code of DESIGN.md section 7. Code
// inside a process throws; only the process edge (cli/cli_main.cpp, the worker loop)
// turns them into messages and exit codes.
#pragma once
#include <stdexcept>
#include <string>

namespace atelier {

// Exit 2: usage, validation or unreadable input. The message names the file,
// field or line.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Exit 2: a run, job or asset id that does not exist.
class NotFound : public InputError {
 public:
  using InputError::InputError;
};

// Exit 1: the thing asked about failed (a run ended failed, ...).
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace atelier
