#pragma once
// Runs the `imagine` binary (path compiled in as IMAGINE_BINARY) and captures its output.
#include <string>

namespace imagine::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// `args` is appended to the binary path and run through /bin/sh.
CommandResult run_imagine(const std::string& binary, const std::string& args);

}  // namespace imagine::testing
