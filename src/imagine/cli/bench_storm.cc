// imagine bench storm: wall-clock and CPU cost of each part of STORM's training loop for a
// config, measured on the STORM agent (train/storm_agent.h), with whichever world model it names (default: the CPU preset; `--config configs/storm_atari100k.toml --set
// env.id=minatar/breakout --set env.obs=rgb` gives the Atari 100k sizes on a built-in 64x64
// RGB game). With one thread on a busy machine the CPU time is the better estimate of the
// wall time on an idle one. The replay buffer is
// filled by the random warm-up, then each part is timed on its own: one world-model update,
// one imagination, one actor-critic update on that imagination, and one acting step
// (policy + environment). The per-environment-step cost combines them with the config's
// train_every and update counts.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "imagine/cli/bench_timing.h"
#include "imagine/cli/common.h"
#include "imagine/core/error.h"
#include "imagine/core/log.h"
#include "imagine/core/device.h"
#include "imagine/core/rng.h"
#include "imagine/data/replay_buffer.h"
#include "imagine/envs/vector_env.h"
#include "imagine/train/job.h"
#include "imagine/train/storm_agent.h"

namespace imagine::cli {

namespace {
struct BenchStormArgs {
  ConfigArgs config;
  int64_t repeats = 10;
};

void bench_storm(const Globals& g, const BenchStormArgs& a) {
  if (a.repeats < 1) throw UserError("--repeats must be at least 1");
  train::Config config = load_config(a.config.files, a.config.sets);
  if (config.kind != train::Kind::kStorm)
    throw UserError("bench storm needs a kind = \"storm\" config, got '" + config::enum_name(config.kind) + "'");
  apply_runtime(config);
  train::validate(config);
  const train::StormOptions loop = config.storm;
  envs::VectorEnv env(config.env, 1, 1);
  const envs::EnvSpec& spec = env.spec();
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  train::StormAgent agent(config, spec, parse_device(config.device), config.precision == train::Precision::kBf16);
  Rng rng(static_cast<uint64_t>(config.seed));

  // The replay buffer of the random warm-up, as the job fills it.
  spdlog::info("bench storm: {} random warm-up steps on {}", loop.warmup_steps, config.env.id);
  data::ReplayBuffer replay(config.replay, spec.obs_shape(), 1);
  at::Tensor obs = env.reset(static_cast<uint64_t>(config.seed)).obs[0].clone();
  bool first = true;
  for (int64_t i = 0; i < std::max<int64_t>(loop.warmup_steps, loop.batch_length + 1); ++i) {
    const at::Tensor action = torch::tensor({rng.uniform_int(0, spec.num_actions - 1)}, torch::kLong);
    const envs::StepResult& r = env.step(action);
    replay.add(obs.unsqueeze(0), action, r.reward, r.terminated, r.truncated, r.life_lost,
               torch::tensor({first}, torch::kBool));
    first = r.terminated[0].item<bool>() || r.truncated[0].item<bool>();
    obs = r.obs[0].clone();
  }

  const Timing wm = time_mean(a.repeats, [&] { agent.update_world_model(replay, rng, 0).at("world_model/loss").item<double>(); });
  agents::ImaginedRollout rollout;
  const Timing imagination = time_mean(a.repeats, [&] {
    rollout = agent.imagine(agent.sample_contexts(replay, loop.imagination_batch, rng));
    rollout.rewards.sum().item<double>();
  });
  // Imagination's two parts: observing the context windows (encoding B x L frames and running
  // the transformer over them) and the horizon's model steps with the policy.
  const data::Batch contexts = agent.sample_contexts(replay, loop.imagination_batch, rng);
  models::WorldStatePtr start;
  const Timing observe = time_mean(a.repeats, [&] {
    start = agent.imagination_start(contexts);
    agent.world_model().model().features(start).sum().item<double>();
  });
  // Each rollout from fresh start states, as in training (a rollout advances their KV cache in
  // place, so a second one from the same states would first copy it).
  const Timing horizon = time_mean(
      a.repeats, [&] { start = agent.imagination_start(contexts); },
      [&] { agent.imagine_from(start).rewards.sum().item<double>(); });
  const Timing ac = time_mean(a.repeats, [&] { agent.actor_critic().update(rollout).total.item<double>(); });
  // Acting as the job acts: the policy on the episode's previous steps, then the environment.
  train::ActingContext acting;
  const Timing act = time_mean(std::max<int64_t>(a.repeats, 100), [&] {
    const int64_t action = agent.act(acting, obs, rng);
    const envs::StepResult& r = env.step(torch::tensor({action}, torch::kLong));
    acting.push(obs, action, loop.acting_context - 1);
    if (r.terminated[0].item<bool>() || r.truncated[0].item<bool>()) acting.clear();
    obs = r.obs[0].clone();
  });

  // Seconds per environment step of a part done `count` times every train_every steps.
  auto share = [&](double seconds, int64_t count) {
    return seconds * static_cast<double>(count) / static_cast<double>(loop.train_every);
  };
  auto per_step = [&](double Timing::*field) {
    return act.*field + share(wm.*field, loop.world_model_updates) +
           share(imagination.*field + ac.*field, loop.actor_critic_updates);
  };
  auto ms = [](double seconds) { return std::round(seconds * 1e5) / 100; };
  Table t{{"part", "shape", "ms", "cpu ms", "ms per env step"}, {}};
  auto row = [&](const std::string& part, const std::string& shape, const Timing& timing, int64_t count) {
    t.rows.push_back({part, shape, ms(timing.wall), ms(timing.cpu), ms(share(timing.wall, count))});
  };
  const bool storm = loop.world_model_class == train::LoopModelClass::kStorm;
  row("world-model update",
      storm ? fmt::format("{} x {}", loop.batch_size, loop.batch_length)
            : fmt::format("{} x {}", config.env_model.batch_size, config.env_model.context + config.env_model.horizon),
      wm, loop.world_model_updates);
  const std::string im_shape = fmt::format("{} x {}", loop.imagination_batch, loop.imagination_horizon);
  row("imagination", im_shape, imagination, loop.actor_critic_updates);
  row("  of which: observe the context", fmt::format("{} x {}", loop.imagination_batch, agent.world_model().imagination_context()),
      observe, loop.actor_critic_updates);
  row("  of which: rollout (policy and model steps)", im_shape, horizon, loop.actor_critic_updates);
  row("actor-critic update", im_shape, ac, loop.actor_critic_updates);
  t.rows.push_back({"act + env step", fmt::format("context {}", loop.acting_context), ms(act.wall), ms(act.cpu),
                    ms(act.wall)});
  t.rows.push_back({"environment step (all)", fmt::format("train_every {}", loop.train_every), "",
                    ms(per_step(&Timing::cpu)), ms(per_step(&Timing::wall))});
  spdlog::info("{} intra-op threads, device {}, {} repeats; ms: wall clock, cpu ms: process CPU time (all threads); "
               "100k steps ~ {:.2f} h of wall clock",
               at::get_num_threads(), config.device, a.repeats, per_step(&Timing::wall) * 1e5 / 3600.0);
  t.print(g);
}
}  // namespace

void add_bench_storm(CLI::App* bench, Globals& g) {
  auto* cmd = bench->add_subcommand("storm", "STORM: seconds per world-model update, imagination, actor-critic "
                                             "update and acting step for a config");
  auto args = std::make_shared<BenchStormArgs>();
  BenchStormArgs& a = *args;
  a.config.add_to(cmd);
  cmd->add_option("--repeats", a.repeats, "timed calls per part (acting: at least 100)")->capture_default_str();
  cmd->callback([&g, args] { bench_storm(g, *args); });
}

}  // namespace imagine::cli
