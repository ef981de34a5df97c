// imagine eval RUN: evaluate a checkpoint of a run by complete episodes.
#include <cmath>
#include <iostream>

#include "imagine/cli/common.h"
#include "imagine/core/run_dir.h"
#include "imagine/train/job.h"
#include "imagine/envs/atari/scores.h"

namespace imagine::cli {

void add_eval(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("eval", "evaluate a run's checkpoint: episodes, mean, std, each return");
  struct Args {
    std::string run;
    int64_t episodes = -1, checkpoint = -1, seed = 12345, sequences = 512;
  };
  auto args = std::make_shared<Args>();
  auto& [run, episodes, checkpoint, seed, sequences] = *args;
  cmd->add_option("run", run, "run directory")->required();
  cmd->add_option("--episodes", episodes, "complete episodes to play (default: the run's eval_episodes)")
      ->check(CLI::TypeValidator<int64_t>())
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  cmd->add_option("--checkpoint", checkpoint, "step of the checkpoint (default: the latest)")
      ->check(CLI::TypeValidator<int64_t>())
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--sequences", sequences, "env_model runs: held-out sequences to evaluate")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", seed, "seed of the evaluation environments")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->callback([&g, args] {
    const auto& [run, episodes, checkpoint, seed, sequences] = *args;
    const RunDir dir = RunDir::open(run);
    train::Config config = load_config({dir.config_path()}, {});
    apply_runtime(config);
    if (!train::job_kind(config.kind).plays_episodes) return eval_env_model_run(g, run, config, checkpoint, sequences, static_cast<uint64_t>(seed));
    const auto evaluation = evaluate_checkpoint(
        run, config, checkpoint >= 0 ? std::optional<int64_t>(checkpoint) : std::nullopt, episodes, static_cast<uint64_t>(seed));
    const auto& returns = evaluation.returns;
    const int64_t step = evaluation.step;
    double mean = 0, var = 0;
    for (double r : returns) mean += r;
    mean /= static_cast<double>(returns.size());
    for (double r : returns) var += (r - mean) * (r - mean);
    const double std = returns.size() > 1 ? std::sqrt(var / static_cast<double>(returns.size() - 1)) : 0.0;
    nlohmann::json each = returns;
    Table t{{"env", "step", "episodes", "mean", "std", "returns"}, {}};
    t.rows.push_back({config.env.id, step, static_cast<int64_t>(returns.size()), mean, std,
                      g.format == "json" ? each : nlohmann::json(each.dump())});
    // Atari 100k games: the human-normalised score of the mean (envs/atari/scores.h).
    if (const auto* ref = envs::find_atari100k_scores_for_id(config.env.id)) {
      t.columns.insert(t.columns.begin() + 5, "hns");
      t.rows[0].insert(t.rows[0].begin() + 5, envs::human_normalized_score(mean, *ref));
    }
    t.print(g);
  });
}

}  // namespace imagine::cli
