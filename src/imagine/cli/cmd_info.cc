// imagine info [RUN_DIR]: parameter counts of every module of a configuration, without
// training; or of a trained run (its config, checked against its latest checkpoint).
#include "imagine/cli/common.h"
#include "imagine/core/checkpoint.h"
#include "imagine/core/error.h"
#include "imagine/core/run_dir.h"
#include "imagine/train/job.h"

namespace imagine::cli {

void add_info(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("info", "parameter count of every module of a configuration or a trained run");
  struct Args {
    ConfigArgs config;
    std::string run;
  };
  auto args = std::make_shared<Args>();
  args->config.add_to(cmd);
  cmd->add_option("run", args->run, "a run directory: its modules, as its latest checkpoint holds them");
  cmd->callback([&g, args] {
    std::unique_ptr<train::Job> job;
    if (!args->run.empty()) {
      if (!args->config.files.empty() || !args->config.sets.empty())
        throw UserError("info RUN_DIR reads the run's own config; drop --config and --set");
      const RunDir dir = RunDir::open(args->run);
      job = train::make_job(load_config({dir.config_path()}, {}));
      if (const auto path = find_checkpoint(dir.checkpoints_dir()))
        load_checkpoint(*path, job->kind(), [&](InputArchive& a, const nlohmann::json& m) { job->load(a, m); });
    } else {
      job = train::make_job(load_config(args->config.files, args->config.sets));
    }
    Table t{{"module", "parameters"}, {}};
    for (const auto& [name, n] : job->parameter_counts()) t.rows.push_back({nlohmann::json(name), nlohmann::json(n)});
    t.print(g);
  });
}

}  // namespace imagine::cli
