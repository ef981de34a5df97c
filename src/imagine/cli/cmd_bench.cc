// imagine bench: end-to-end throughput figures for docs/results.md.
#include "imagine/cli/common.h"
#include "imagine/core/error.h"

namespace imagine::cli {

void add_bench(CLI::App& app, Globals&) {
  auto* cmd = app.add_subcommand("bench", "throughput benchmarks (not available yet)");
  cmd->allow_extras();
  cmd->callback([] { throw UnavailableError("'imagine bench' is not available yet"); });
}

}  // namespace imagine::cli
