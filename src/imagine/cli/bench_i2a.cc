// imagine bench i2a: where the time of an I2A (or model-free A2C) training step goes, for a
// config. On num_envs real observations it times the agent's acting forward pass and, for
// I2A, its parts (the rollouts through the world model, the rollout encoder); the A2C update
// on one rollout of `a2c.rollout` steps; and the environment step. Environment steps per
// second combine them as the job does: rollout x (act + env step) + one update per
// rollout x num_envs steps.
#include <torch/torch.h>

#include <cmath>

#include "imagine/agents/i2a/i2a.h"
#include "imagine/cli/bench_timing.h"
#include "imagine/cli/common.h"
#include "imagine/core/error.h"
#include "imagine/core/log.h"
#include "imagine/envs/vector_env.h"
#include "imagine/train/a2c_job.h"

namespace imagine::cli {

namespace {
struct BenchI2AArgs {
  ConfigArgs config;
  int64_t repeats = 10;
};

void bench_i2a(const Globals& g, const BenchI2AArgs& a) {
  if (a.repeats < 1) throw UserError("--repeats must be at least 1");
  train::Config config = load_config(a.config.files, a.config.sets);
  if (config.kind != train::Kind::kI2A && config.kind != train::Kind::kA2C)
    throw UserError("bench i2a needs a kind = \"i2a\" or \"a2c\" config, got '" + config::enum_name(config.kind) + "'");
  apply_runtime(config);
  train::validate(config);
  const auto& o = config.a2c;
  envs::VectorEnv env(config.env, o.num_envs, o.env_threads);
  train::A2CFamilyAgent made = train::make_a2c_family_agent(config, env.spec());
  agents::A2CAgent& agent = made.agent;
  const int64_t n = o.num_envs, t_steps = o.rollout;
  at::Tensor obs = env.reset(static_cast<uint64_t>(config.seed)).obs.clone();
  const Timing env_step = time_mean(std::max<int64_t>(a.repeats, 20), [&] {
    obs = env.step(torch::randint(env.spec().num_actions, {n}, torch::kLong)).obs.clone();
  });
  // One rollout of the job's shape, collected as the job collects it; `input` is what the
  // agent reads after it.
  at::Tensor frames = train::initial_frames(obs, made.context);
  const agents::A2CRollout r = train::collect_a2c_rollout(env, agent, frames, t_steps);
  const at::Tensor input = r.last_obs;
  const Timing act = time_mean(a.repeats, [&] { agent.act(input).sum().item<int64_t>(); });
  const Timing update = time_mean(a.repeats, [&] { agent.update(r).total.item<double>(); });

  auto ms = [](double seconds) { return std::round(seconds * 1e5) / 100; };
  Table table{{"part", "shape", "ms", "cpu ms", "ms per env step"}, {}};
  const auto per = static_cast<double>(n);
  auto row = [&](const std::string& part, const std::string& shape, const Timing& timing, double calls_per_env_step) {
    table.rows.push_back({part, shape, ms(timing.wall), ms(timing.cpu), ms(timing.wall * calls_per_env_step)});
  };
  const std::string batch = fmt::format("{} envs", n);
  row("act (forward pass, sampling)", batch, act, 1.0 / per);
  if (auto* net = dynamic_cast<agents::I2ANetImpl*>(&agent.net())) {
    torch::NoGradGuard no_grad;
    agents::ImaginedRollouts rollouts;
    const Timing imagine = time_mean(a.repeats, [&] {
      rollouts = net->imagine(input);
      rollouts.rewards.sum().item<double>();
    });
    const Timing encode = time_mean(a.repeats, [&] { net->encode(rollouts, n).sum().item<double>(); });
    const std::string shape = fmt::format("{} rollouts x depth {}", n * env.spec().num_actions, config.i2a.depth);
    row("  of which: rollouts (world model)", shape, imagine, 1.0 / per);
    row("  of which: rollout encoder", shape, encode, 1.0 / per);
  }
  row("A2C update (forward + backward)", fmt::format("{} x {}", t_steps, n), update, 1.0 / (per * static_cast<double>(t_steps)));
  row("environment step", batch, env_step, 1.0 / per);
  const double step_wall = (act.wall + env_step.wall) / per + update.wall / (per * static_cast<double>(t_steps));
  const double step_cpu = (act.cpu + env_step.cpu) / per + update.cpu / (per * static_cast<double>(t_steps));
  table.rows.push_back({"environment step (all)", "", "", ms(step_cpu), ms(step_wall)});
  spdlog::info("bench i2a: kind {}, {} intra-op threads, device {}, {} repeats; {:.0f} environment steps/s "
               "(wall clock)",
               config::enum_name(config.kind), at::get_num_threads(), config.device, a.repeats, 1.0 / step_wall);
  table.print(g);
}
}  // namespace

void add_bench_i2a(CLI::App* bench, Globals& g) {
  auto* cmd = bench->add_subcommand("i2a", "I2A or model-free A2C: milliseconds per acting pass (rollouts, rollout "
                                           "encoder), update and environment step for a config");
  auto args = std::make_shared<BenchI2AArgs>();
  BenchI2AArgs& a = *args;
  a.config.add_to(cmd);
  cmd->add_option("--repeats", a.repeats, "timed calls per part (environment step: at least 20)")->capture_default_str();
  cmd->callback([&g, args] { bench_i2a(g, *args); });
}

}  // namespace imagine::cli
