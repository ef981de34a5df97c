#pragma once
// The `imagine` command: one subcommand per file in this folder.
namespace imagine::cli {
// Parses the command line and runs the subcommand. Returns the process exit code:
// 0 success, 1 internal failure, 2 bad input (a one-line message on stderr).
int run(int argc, char** argv);
}  // namespace imagine::cli
