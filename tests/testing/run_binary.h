#pragma once
// Runs the `imagine` binary (path compiled in as IMAGINE_BINARY) and captures its output; reads
// what its runs leave behind.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace imagine::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// `args` is appended to the binary path and run through /bin/sh.
CommandResult run_imagine(const std::string& binary, const std::string& args);

// A file's bytes; empty when it cannot be read (tests poll for files that appear later).
std::string read_file(const std::string& path);

// The lines of a run's metrics.jsonl without their wall-clock field.
std::vector<nlohmann::json> metrics_without_time(const std::string& run_dir);

}  // namespace imagine::testing
