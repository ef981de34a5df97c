// imagine train: run a training job in a run directory; --resume continues one.
#include <torch/torch.h>

#include <cmath>
#include <iostream>

#include "imagine/cli/common.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"
#include "imagine/core/log.h"
#include "imagine/train/runner.h"

namespace imagine::cli {

namespace {
struct TrainArgs {
  ConfigArgs config;
  std::string run_dir;
  std::string resume;
  bool force = false;
  int64_t stop_at = -1;
};

void print_evaluation(const Globals& g, const std::string& id, const std::vector<double>& returns) {
  double mean = 0, var = 0;
  for (double r : returns) mean += r;
  mean /= static_cast<double>(returns.size());
  for (double r : returns) var += (r - mean) * (r - mean);
  const double std = returns.size() > 1 ? std::sqrt(var / static_cast<double>(returns.size() - 1)) : 0.0;
  nlohmann::json each = returns;
  Table t{{"env", "episodes", "mean", "std", "returns"}, {}};
  t.rows.push_back({id, static_cast<int64_t>(returns.size()), mean, std,
                    g.format == "json" ? each : nlohmann::json(each.dump())});
  t.print(g);
}

void train(Globals& g, const TrainArgs& args) {
  const bool resuming = !args.resume.empty();
  if (resuming && !args.config.file.empty())
    throw UserError("--resume takes the config from the run directory; drop --config");
  const std::string config_file = resuming ? RunDir::open(args.resume).config_path() : args.config.file;
  train::Config config = load_config(config_file, args.config.sets);
  apply_runtime(config);
  if (config.name.empty()) {
    config.name = config.kind + "-" + config.env.id;
    for (char& c : config.name)
      if (c == '/') c = '-';
  }
  auto job = train::make_job(config);
  const std::string config_toml = config::to_toml(config);
  std::optional<RunDir> dir;
  int64_t start = 0;
  if (resuming) {
    dir = RunDir::open(args.resume);
    start = train::resume_job(*job, *dir);
    write_text_atomically(dir->config_path(), config_toml);  // records any --set changes (e.g. steps)
  } else {
    const std::string path = args.run_dir.empty() ? default_run_path(config.name) : args.run_dir;
    dir = RunDir::create(path, args.force, config_toml, make_manifest(config.device, config.seed, g.command_line));
    spdlog::info("run directory {}", path);
  }
  job->set_media_dir(dir->media_dir());
  MetricsWriter metrics(dir->metrics_path(), resuming ? start : -1);
  train::RunnerOptions options;
  options.steps = config.steps;
  options.checkpoint_every = config.checkpoint_every;
  options.log_every = config.log_every;
  if (args.stop_at >= 0) options.stop_at = args.stop_at;
  const auto outcome = train::run_job(*job, *dir, metrics, options);
  if (outcome == train::RunOutcome::kInterrupted) {
    spdlog::info("continue with --resume {}", dir->path());
    g.exit_code = 130;  // the shell's code for a run ended by SIGINT
    return;
  }
  if (outcome != train::RunOutcome::kFinished) return;
  if (config.eval_episodes > 0 && config.kind != "env_model") {  // env_model: held-out NLL in metrics, `imagine eval`
    spdlog::info("evaluating {} complete episodes", config.eval_episodes);
    const auto returns = job->evaluate(config.eval_episodes, static_cast<uint64_t>(config.seed) + 1000003);
    nlohmann::json eval = {{"step", job->step()}, {"returns", returns}};
    write_text_atomically(dir->path() + "/evaluation.json", eval.dump(2) + "\n");
    print_evaluation(g, config.env.id, returns);
  }
}
}  // namespace

void add_train(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("train", "train an agent or a world model (default: the built-in job)");
  static TrainArgs args;
  args.config.add_to(cmd);
  cmd->add_option("--run-dir", args.run_dir, "run directory (default runs/<name>-<time>)");
  cmd->add_flag("--force", args.force, "overwrite an existing run directory");
  cmd->add_option("--resume", args.resume, "continue the run in this directory from its last checkpoint");
  cmd->add_option("--stop-at", args.stop_at, "stop with a checkpoint after this many steps (resume later)");
  cmd->callback([&g] { train(g, args); });
}

}  // namespace imagine::cli
