#pragma once
// The whole configuration of a run: top-level keys plus one section per component.
// `imagine config defaults` prints it; docs/configuration.md is generated from it.
#include <cstdint>
#include <string>

#include "imagine/agents/a2c/a2c.h"
#include "imagine/agents/actor_critic/actor_critic_options.h"
#include "imagine/agents/i2a/i2a.h"
#include "imagine/core/config.h"
#include "imagine/data/replay_buffer.h"
#include "imagine/envs/env_options.h"
#include "imagine/models/storm/world_model_options.h"
#include "imagine/train/storm_options.h"
#include "imagine/train/env_model_options.h"

namespace imagine::train {

// What a run trains; train/job.h holds what each kind is (its checks, its job, its policy).
enum class Kind { kStorm, kA2C, kEnvModel, kI2A };
constexpr config::EnumNames<Kind, 4> enum_names(Kind) {
  return {{{Kind::kStorm, "storm"}, {Kind::kA2C, "a2c"}, {Kind::kEnvModel, "env_model"}, {Kind::kI2A, "i2a"}}};
}

enum class Precision { kFp32, kBf16 };
constexpr config::EnumNames<Precision, 2> enum_names(Precision) {
  return {{{Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"}}};
}

// Defaults: STORM on minatar/breakout with the CPU preset (configs/storm_minatar.toml).
struct Config {
  Kind kind = Kind::kStorm;
  std::string name = "";
  int64_t seed = 1;
  std::string device = "cpu";
  Precision precision = Precision::kFp32;
  int64_t threads = 0;
  int64_t steps = 15000;
  int64_t checkpoint_every = 2500;
  int64_t log_every = 250;
  int64_t checkpoint_keep = 3;
  int64_t checkpoint_keep_every = 0;
  int64_t eval_episodes = 20;
  envs::EnvOptions env;
  agents::A2COptions a2c;
  StormOptions storm;
  models::storm::WorldModelOptions world_model = minatar_world_model();
  agents::ActorCriticOptions actor_critic = minatar_actor_critic();
  data::ReplayOptions replay;
  EnvModelJobOptions env_model;
  agents::I2AOptions i2a;

  template <class V>
  void visit(V& v) {
    v.field("kind", kind, {"what to train"});
    v.field("name", name, {"run name (default: <kind>-<env>); the run directory is runs/<name>-<time>"});
    v.field("seed", seed, {"seed of everything (environments, networks, sampling)", config::Range{0, 9.2e18}});
    v.field("device", device, {"'cpu', 'cuda' or 'cuda:N'"});
    v.field("precision", precision,
            {"bf16: mixed precision (bf16 autocast) in STORM's forward passes; weights, optimiser state and "
             "losses stay fp32. Meant for GPUs: on the CPU it measured slower than fp32 (kind = \"storm\")"});
    v.field("threads", threads, {"LibTorch intra-op threads; 0 = one per core", config::Range{0, 1024}});
    v.field("steps", steps, {"environment steps (agent decisions) to train for; kind = \"env_model\": training updates", config::Range{1, 1e12}});
    v.field("checkpoint_every", checkpoint_every, {"environment steps between checkpoints", config::Range{1, 1e12}});
    v.field("checkpoint_keep", checkpoint_keep,
            {"newest checkpoints kept in the run directory (older ones are deleted); 0 keeps all",
             config::Range{0, 1e9}});
    v.field("checkpoint_keep_every", checkpoint_keep_every,
            {"also keep every checkpoint whose step is a multiple of this; 0: none", config::Range{0, 1e12}});
    v.field("log_every", log_every, {"environment steps between metrics lines", config::Range{1, 1e12}});
    v.field("eval_episodes", eval_episodes, {"complete episodes in the final evaluation", config::Range{0, 1e6}});
    v.section("env", env, "Environment");
    v.section("a2c", a2c, "Model-free advantage actor-critic (kind = \"a2c\")");
    v.section("storm", storm, "STORM training loop (kind = \"storm\")");
    v.section("world_model", world_model, "STORM world model (kind = \"storm\")");
    v.section("actor_critic", actor_critic, "STORM imagination actor-critic (kind = \"storm\")");
    v.section("replay", replay, "Replay buffer (kind = \"storm\")");
    v.section("i2a", i2a,
              "Imagination-augmented agent (kind = \"i2a\"; trained by the [a2c] learner, whose hidden is its "
              "model-free path's width)");
    v.section("env_model", env_model, "Environment model trained from a dataset (kind = \"env_model\"; steps, log_every and checkpoint_every count updates)");
  }
};

}  // namespace imagine::train
