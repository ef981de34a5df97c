#pragma once
// Shared pieces of the subcommands: config loading, output formats.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "imagine/train/config.h"

namespace imagine::cli {

struct Globals {
  std::string format = "md";  // results on stdout: markdown tables or JSON
  std::string command_line;   // as typed, for manifests
  int exit_code = 0;          // returned by main() when the command finishes without an error
};

struct ConfigArgs {
  std::vector<std::string> files;
  std::vector<std::string> sets;
  void add_to(CLI::App* cmd);
};

// Defaults, then the files (each later one overriding the earlier), then --set overrides;
// every key checked.
train::Config load_config(const std::vector<std::string>& files, const std::vector<std::string>& sets);

// A results table: printed as markdown, or as a JSON array of row objects.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<nlohmann::json>> rows;
  void print(const Globals& g) const;
};

// Applies config.threads and config.seed to LibTorch.
void apply_runtime(const train::Config& config);

void add_version(CLI::App& app, Globals& g);
void add_config(CLI::App& app, Globals& g);
void add_train(CLI::App& app, Globals& g);
void add_eval(CLI::App& app, Globals& g);
void add_envs(CLI::App& app, Globals& g);
void add_bench(CLI::App& app, Globals& g);
void add_info(CLI::App& app, Globals& g);
void add_plot(CLI::App& app, Globals& g);
void add_collect(CLI::App& app, Globals& g);
void add_rollout(CLI::App& app, Globals& g);
void add_report(CLI::App& app, Globals& g);
void add_sweep(CLI::App& app, Globals& g);
// `imagine bench models`: rollout speed of every environment-model class.
void add_bench_models(CLI::App* bench, Globals& g);
// `imagine bench storm`: seconds per part of STORM's training loop for a config.
void add_bench_storm(CLI::App* bench, Globals& g);
// `imagine bench i2a`: milliseconds per part of an I2A / A2C training step for a config.
void add_bench_i2a(CLI::App* bench, Globals& g);
// `imagine eval` on a kind = "env_model" run (checkpoint_step -1: the latest): held-out NLL
// table, appended to metrics.jsonl.
void eval_env_model_run(const Globals& g, const std::string& run, const train::Config& config,
                        int64_t checkpoint_step, int64_t sequences, uint64_t seed);

// The returns of `episodes` complete episodes (-1: the run's eval_episodes) played by the
// checkpoint of `run` at `step` (nullopt: the latest), environments seeded by `seed`, for
// kinds that play episodes. `config` is the run's (config.toml). UserError when the run has no
// such checkpoint.
struct CheckpointEvaluation {
  std::string checkpoint;  // path of the checkpoint played
  int64_t step = 0;
  std::vector<double> returns;
};
CheckpointEvaluation evaluate_checkpoint(const std::string& run, const train::Config& config,
                                         std::optional<int64_t> step, int64_t episodes, uint64_t seed);

// Held-out companion of a dataset path: "data.replay" -> "data.heldout.replay".
std::string heldout_path(const std::string& path);

}  // namespace imagine::cli
