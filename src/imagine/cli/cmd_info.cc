// imagine info: parameter counts of every module of a configuration, without training.
#include "imagine/cli/common.h"
#include "imagine/train/job.h"

namespace imagine::cli {

void add_info(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("info", "parameter count of every module of a configuration");
  auto args = std::make_shared<ConfigArgs>();
  args->add_to(cmd);
  cmd->callback([&g, args] {
    const train::Config config = load_config(args->files, args->sets);
    auto job = train::make_job(config);
    Table t{{"module", "parameters"}, {}};
    for (const auto& [name, n] : job->parameter_counts()) t.rows.push_back({nlohmann::json(name), nlohmann::json(n)});
    t.print(g);
  });
}

}  // namespace imagine::cli
