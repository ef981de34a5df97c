// imagine collect ID --policy random|RUN --steps N --out DATASET: trajectories for offline
// environment-model training, written as replay-buffer files split by episode.
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "imagine/cli/common.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"
#include "imagine/core/signals.h"
#include "imagine/core/log.h"
#include "imagine/core/run_dir.h"
#include "imagine/data/replay_buffer.h"
#include "imagine/envs/vector_env.h"
#include "imagine/train/job.h"

namespace imagine::cli {

// "data.replay" -> "data.heldout.replay".
std::string heldout_path(const std::string& path) {
  const std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + ".heldout" + p.extension().string())).string();
}

namespace {
struct CollectArgs {
  std::string id, policy = "random", out;
  int64_t steps = 100000, envs = 8, seed = 1;
  double heldout = 0.1;
  bool force = false;
  std::vector<std::string> sets;
};

// A random id shared by the training and held-out files of one collection.
std::string collection_id() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}", device(), device());
}

int collect(const CollectArgs& a) {
  for (const auto& set : a.sets)
    if (set.rfind("env.", 0) != 0)
      throw UserError("--set '" + printable(set) + "': collect reads only env.* options");
  train::Config config = load_config({}, a.sets);
  config.env.id = a.id;
  if (a.out.empty()) throw UserError("--out is required");
  const std::string held_path = heldout_path(a.out);
  for (const auto& path : {a.out, held_path}) {
    if (std::filesystem::exists(path) && !a.force)
      throw UserError("'" + path + "' already exists; use --force to replace it");
    const std::filesystem::path p = std::filesystem::absolute(path);
    remove_stale_temporaries(p.parent_path().string(), p.filename().string());  // a killed collect's
  }
  const int64_t held = static_cast<int64_t>(std::ceil(a.heldout * static_cast<double>(a.envs)));
  if (a.heldout > 0 && held >= a.envs)
    throw UserError("--heldout " + std::to_string(a.heldout) + " leaves no training stream with --envs " +
                    std::to_string(a.envs) + "; use more envs or a smaller fraction");
  envs::VectorEnv env(config.env, a.envs, std::min<int64_t>(a.envs, 2));
  const auto& spec = env.spec();

  train::Policy policy;
  std::unique_ptr<train::Job> job;
  Rng rng(static_cast<uint64_t>(a.seed) * 31 + 7);
  if (a.policy == "random") {
    policy = [&](const at::Tensor& obs, const at::Tensor&) {
      auto actions = torch::empty({obs.size(0)}, torch::kInt64);
      for (int64_t i = 0; i < obs.size(0); ++i) actions[i] = rng.uniform_int(0, spec.num_actions - 1);
      return actions;
    };
  } else {
    const RunDir dir = RunDir::open(a.policy);
    train::Config run_config = load_config({dir.config_path()}, {});
    if (run_config.env.id != config.env.id || run_config.env.obs != config.env.obs)
      throw UserError("run '" + a.policy + "' was trained on " + run_config.env.id + " (" +
                      config::enum_name(run_config.env.obs) + "), not " + config.env.id + " (" +
                      config::enum_name(config.env.obs) + ")");
    apply_runtime(run_config);
    job = train::make_job(run_config);
    const auto path = find_checkpoint(dir.checkpoints_dir());
    if (!path) throw UserError("run '" + a.policy + "' has no checkpoint");
    load_checkpoint(*path, job->kind(), [&](InputArchive& ar, const nlohmann::json& m) { job->load(ar, m); });
    policy = job->policy();
  }

  const int64_t rows = (a.steps + a.envs - 1) / a.envs;
  data::ReplayOptions ro;
  ro.capacity = rows;
  data::ReplayBuffer train_buf(ro, spec.obs_shape(), a.envs - held);
  std::optional<data::ReplayBuffer> held_buf;
  if (held > 0) held_buf.emplace(ro, spec.obs_shape(), held);

  nlohmann::json source = {{"env", config::flatten(config.env)},
                           {"collection", collection_id()},
                           {"policy", a.policy},
                           {"seed", a.seed}};
  train_buf.set_source(source);
  if (held_buf) held_buf->set_source(source);

  const envs::StepResult* r = &env.reset(static_cast<uint64_t>(a.seed));
  auto first = torch::ones({a.envs}, torch::kBool);
  Progress progress("collect", rows * a.envs);
  StopSignals signals;  // Ctrl-C: keep what was collected, as `train` keeps a checkpoint
  for (int64_t t = 0; t < rows; ++t) {
    if (StopSignals::requested()) {
      progress.finish();
      spdlog::warn("{} after {} steps: writing what was collected (send it again to quit at once)",
                   StopSignals::signal_name(), t * a.envs);
      break;
    }
    const auto obs = r->obs.clone();
    const auto action = policy(obs, first);
    r = &env.step(action);
    auto add = [&](data::ReplayBuffer& buf, int64_t begin, int64_t end) {
      buf.add(obs.slice(0, begin, end), action.slice(0, begin, end), r->reward.slice(0, begin, end),
              r->terminated.slice(0, begin, end), r->truncated.slice(0, begin, end),
              r->life_lost.slice(0, begin, end), first.slice(0, begin, end));
    };
    add(train_buf, 0, a.envs - held);
    if (held_buf) add(*held_buf, a.envs - held, a.envs);
    first = torch::logical_or(r->terminated, r->truncated);
    progress.update((t + 1) * a.envs);
  }
  progress.finish();
  train_buf.save(a.out);
  std::error_code ignored;
  if (!held_buf) std::filesystem::remove(held_path, ignored);  // a stale one would be read as this one's
  spdlog::info("wrote {} ({} rows in {} streams, {} episodes)", a.out, train_buf.size(), train_buf.num_streams(),
               train_buf.episodes().size());
  if (held_buf) {
    held_buf->save(held_path);
    spdlog::info("wrote {} ({} rows held out, {} episodes)", held_path, held_buf->size(),
                 held_buf->episodes().size());
  }
  return StopSignals::requested() ? StopSignals::exit_code() : 0;
}
}  // namespace

void add_collect(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("collect", "record trajectories into a dataset (train and held-out files)");
  auto args = std::make_shared<CollectArgs>();
  CollectArgs& a = *args;
  cmd->add_option("id", a.id, "environment id")->required();
  cmd->add_option("--policy", a.policy, "'random' or a run directory whose latest checkpoint acts")->capture_default_str();
  cmd->add_option("--steps", a.steps, "environment steps in total")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--out", a.out, "dataset file; held-out episodes go to <stem>.heldout<ext>")->required();
  cmd->add_option("--envs", a.envs, "parallel environments (streams)")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--heldout", a.heldout, "fraction of streams (whole episodes) held out")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", a.seed, "seed of the environments and the random policy")->capture_default_str();
  cmd->add_option("--set,-s", a.sets, "override env options, e.g. --set env.obs=rgb");
  cmd->add_flag("--force", a.force, "replace existing dataset files");
  cmd->callback([&g, args] { g.exit_code = collect(*args); });
}

}  // namespace imagine::cli
