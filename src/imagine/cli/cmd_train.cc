// imagine train: run a training job in a run directory; --resume continues one.
#include <torch/torch.h>

#include <cmath>
#include <iostream>

#include "imagine/cli/common.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"
#include "imagine/core/log.h"
#include "imagine/core/signals.h"
#include "imagine/train/run_models.h"
#include "imagine/train/runner.h"

namespace imagine::cli {

namespace {
struct TrainArgs {
  ConfigArgs config;
  std::string run_dir;
  std::string resume;
  bool resume_given = false;
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
  const bool resuming = args.resume_given;
  if (resuming && args.resume.empty()) throw UserError("--resume needs the run directory to continue");
  if (resuming && !args.config.files.empty())
    throw UserError("--resume takes the config from the run directory; drop --config");
  if (resuming && !args.run_dir.empty())
    throw UserError("--resume continues the run in its own directory; drop --run-dir");
  if (resuming && args.force) throw UserError("--force starts a new run; it does not go with --resume");
  std::optional<RunDir> dir;
  if (resuming) dir = RunDir::open(args.resume, /*lock=*/true);
  train::Config config =
      load_config(resuming ? std::vector<std::string>{dir->config_path()} : args.config.files, args.config.sets);
  if (resuming) train::check_resume_changes(load_config({dir->config_path()}, {}), config);
  apply_runtime(config);
  if (config.name.empty()) {
    config.name = config::enum_name(config.kind) + "-" + config.env.id;
    for (char& c : config.name)
      if (c == '/') c = '-';
  }
  envs::EnvSpec env_spec;
  auto job = train::make_job(config, &env_spec);
  const std::string config_toml = config::to_toml(config);
  int64_t start = 0;
  if (resuming) {
    start = train::resume_job(*job, *dir);
    if (args.stop_at >= 0 && args.stop_at <= start)
      throw UserError(fmt::format("--stop-at {} is not after the run's step {}", args.stop_at, start));
    write_text_atomically(dir->config_path(), config_toml);  // records any --set changes (e.g. steps)
    dir->record_resume(g.command_line, start);
  } else {
    const std::string path = args.run_dir.empty() ? default_run_path(config.name) : args.run_dir;
    dir = RunDir::create(path, args.force, config_toml, make_manifest(config.device, config.seed, g.command_line));
    spdlog::info("run directory {}", path);
  }
  try {
    job->set_media_dir(dir->media_dir());
    MetricsWriter metrics(dir->metrics_path(), resuming ? start : -1);
    train::RunnerOptions options;
    options.steps = config.steps;
    options.checkpoint_every = config.checkpoint_every;
    options.checkpoint_keep = config.checkpoint_keep;
    options.checkpoint_keep_every = config.checkpoint_keep_every;
    options.log_every = config.log_every;
    if (args.stop_at >= 0) options.stop_at = args.stop_at;
    options.run_description = train::describe_run(config, env_spec);
    const auto outcome = train::run_job(*job, *dir, metrics, options);
    if (outcome == train::RunOutcome::kInterrupted) {
      spdlog::info("continue with --resume {}", dir->path());
      g.exit_code = StopSignals::exit_code();  // what the shell expects after that signal
      return;
    }
    if (outcome != train::RunOutcome::kFinished) return;
  } catch (...) {
    // A new run that failed before its first checkpoint leaves nothing worth resuming.
    if (!resuming && checkpoint_steps(dir->checkpoints_dir()).empty()) {
      dir->remove_own_files();
      spdlog::info("removed the run directory {}: it failed before its first checkpoint", dir->path());
    }
    throw;
  }
  // Kinds that play no episodes (environment models) log their own measure in the metrics.
  if (config.eval_episodes > 0 && train::job_kind(config.kind).plays_episodes) {
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
  auto args = std::make_shared<TrainArgs>();
  args->config.add_to(cmd);
  cmd->add_option("--run-dir", args->run_dir, "run directory (default runs/<name>-<time>)");
  cmd->add_flag("--force", args->force, "replace an existing run directory (its run's files only)");
  auto* resume = cmd->add_option("--resume", args->resume, "continue the run in this directory from its last checkpoint");
  cmd->add_option("--stop-at", args->stop_at, "stop with a checkpoint after this many steps (resume later)")
      ->check(CLI::TypeValidator<int64_t>())
      ->check(CLI::PositiveNumber);
  cmd->callback([&g, args, resume] {
    args->resume_given = resume->count() > 0;
    train(g, *args);
  });
}

}  // namespace imagine::cli
