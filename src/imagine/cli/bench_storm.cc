// imagine bench storm: wall-clock and CPU cost of each part of STORM's training loop for a
// config, with whichever world model it names (default: the CPU preset; `--config configs/storm_atari100k.toml --set
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
#include "imagine/train/storm_job.h"

namespace imagine::cli {

namespace {
struct BenchStormArgs {
  ConfigArgs config;
  int64_t repeats = 10;
};

void bench_storm(const Globals& g, const BenchStormArgs& a) {
  if (a.repeats < 1) throw UserError("--repeats must be at least 1");
  train::Config config = load_config(a.config.files, a.config.sets);
  if (config.kind != "storm") throw UserError("bench storm needs a kind = \"storm\" config, got '" + config.kind + "'");
  apply_runtime(config);
  const train::StormOptions loop = config.storm;
  config.storm.train_every = int64_t{1} << 40;  // the job only acts; the parts are timed below
  config.storm.media_every = 0;
  train::StormJob job(config);
  spdlog::info("bench storm: {} random warm-up steps on {}", loop.warmup_steps, config.env.id);
  while (job.step() < loop.warmup_steps) job.advance();

  const Timing wm = time_mean(a.repeats, [&] { job.update_world_model().at("world_model/loss").item<double>(); });
  agents::ImaginedRollout rollout;
  const Timing imagination = time_mean(a.repeats, [&] {
    const auto context = job.sample_contexts(loop.imagination_batch);
    rollout = job.imagine(context);
    rollout.rewards.sum().item<double>();
  });
  const Timing ac = time_mean(a.repeats, [&] { job.actor_critic().update(rollout).total.item<double>(); });
  const Timing act = time_mean(std::max<int64_t>(a.repeats, 100), [&] { job.advance(); });

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
  const bool storm = loop.world_model_class == "storm";
  row("world-model update",
      storm ? fmt::format("{} x {}", loop.batch_size, loop.batch_length)
            : fmt::format("{} x {}", config.env_model.batch_size, config.env_model.context + config.env_model.horizon),
      wm, loop.world_model_updates);
  const std::string im_shape = fmt::format("{} x {}", loop.imagination_batch, loop.imagination_horizon);
  row("imagination", im_shape, imagination, loop.actor_critic_updates);
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
