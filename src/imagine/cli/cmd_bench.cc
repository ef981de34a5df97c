// imagine bench: end-to-end throughput figures for docs/results.md.
#include "imagine/cli/common.h"
#include "imagine/core/error.h"

namespace imagine::cli {

void add_bench(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("bench", "throughput benchmarks");
  cmd->require_subcommand(1);
  add_bench_models(cmd, g);
}

}  // namespace imagine::cli
