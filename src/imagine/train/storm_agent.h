#pragma once
// The STORM agent: the loop's world model (STORM's or a state-space model,
// train/loop_world_model.h) and the actor-critic trained in its imagination, with their
// optimisers, and how it acts. It owns no environment, replay buffer, metrics, checkpoint
// file or media: the job (train/storm_job.h) does, and hands it replay windows and a
// generator. `imagine bench storm` times it directly.
//
// Acting sees the current episode only (at most `acting_context` steps). With the previous
// steps' observations o_{t-K}..o_{t-1} and actions a_{t-K}..a_{t-1} of the episode:
//   acting = "posterior": encode o_{t-K}..o_t, run (z_j, a_j) for j < t through the
//     transformer, h = the output of position t-1 (the one whose prior predicts z_t) and act
//     on [z_t, h] with z_t the posterior sample of the current frame. At an episode's first
//     step there is no previous position and h = 0. This is the imagination's feature with
//     the prior's guess of z_t replaced by the actual frame's posterior sample.
//   acting = "storm": the reference: the same h, but z_t is sampled from the prior of
//     position t-1 (the policy never sees the current frame); with no previous step of the
//     episode the action is uniform at random (the reference does so with an empty context).
// With a state-space world model the policy acts on the state observed from the last
// env_model.context frames of the episode (its first frame repeated before its start).
//
// Acting re-encodes the episode's last frames at every step rather than advancing a KV
// cache by one position: STORM's positions are learned absolute embeddings, so the keys of
// a sliding window change with every step and a cache of them cannot be reused exactly.
// Acting is under 2 % of a step's cost at both presets (docs/results.md, "Speed").
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "imagine/agents/actor_critic/actor_critic.h"
#include "imagine/agents/actor_critic/imagination.h"
#include "imagine/core/checkpoint.h"
#include "imagine/core/rng.h"
#include "imagine/data/replay_buffer.h"
#include "imagine/envs/env.h"
#include "imagine/models/storm/storm_world_model.h"
#include "imagine/train/config.h"
#include "imagine/train/loop_world_model.h"

namespace imagine::train {

// The previous steps of one environment's episode that acting reads.
struct ActingContext {
  std::vector<at::Tensor> obs;  // each [C, H, W] uint8, oldest first
  std::vector<int64_t> actions;
  // Appends a step, keeping the newest `keep`.
  void push(const at::Tensor& o, int64_t a, int64_t keep);
  void clear();
};

// An actor-critic update and the imagination it learned from, with the seconds of each.
struct ActorCriticStep {
  agents::ActorCriticLosses losses;
  agents::ImaginedRollout rollout;
  double imagination_s = 0, update_s = 0;
};

class StormAgent {
 public:
  // Builds the world model and the actor-critic (in that order, from LibTorch's generator) for
  // `spec`; bf16: forward passes under bf16 autocast.
  StormAgent(const Config& config, const envs::EnvSpec& spec, c10::Device device, bool bf16);

  // The action for the current frame obs [C, H, W] given the episode's previous steps;
  // uniform from `rng` where the policy has nothing to act on (see the header comment).
  int64_t act(const ActingContext& context, const at::Tensor& obs, Rng& rng);

  // `batch` context windows of `replay` as the world model's imagination needs them.
  data::Batch sample_contexts(const data::ReplayBuffer& replay, int64_t batch, Rng& rng) const;
  // Imagines from real context windows: obs [B, L, C, H, W] uint8, action [B, L], first
  // [B, L] -> rollout with features [H + 1, B, F], actions, rewards and continues [H, B]. Eval
  // mode, no gradient, no host synchronisation in the loop.
  agents::ImaginedRollout imagine(const data::Batch& context);
  // imagine() in its two parts, for timing: the start states observed from the context, and
  // the rollout of the horizon from them.
  models::WorldStatePtr imagination_start(const data::Batch& context);
  agents::ImaginedRollout imagine_from(const models::WorldStatePtr& start);
  // One world-model update on windows of `replay`: its metrics (detached scalars).
  std::map<std::string, at::Tensor> update_world_model(const data::ReplayBuffer& replay, Rng& rng, int64_t step);
  // One actor-critic update on an imagination from contexts of `replay`. Raises
  // DivergenceError on a non-finite loss or weight.
  ActorCriticStep update_actor_critic(const data::ReplayBuffer& replay, Rng& rng, int64_t step);

  // Archive entries world_model, world_model_optimiser and actor_critic.
  void save(OutputArchive& archive);
  void load(InputArchive& archive);
  // world_model/{encoder,posterior,decoder,transformer,heads}, world_model, actor_critic/{actor,
  // critic,slow_critic} and actor_critic (actor + critic, the trained part).
  std::vector<std::pair<std::string, int64_t>> parameter_counts();

  LoopWorldModel& world_model() { return *world_model_; }
  // STORM's module (storm.world_model_class = "storm"); raises UserError otherwise.
  models::storm::WorldModel& storm_module();
  agents::ActorCritic& actor_critic() { return *actor_critic_; }
  int64_t num_actions() const { return num_actions_; }

 private:
  // Policy features for the current frame, [1, F]; undefined when the action must be uniform.
  at::Tensor acting_features(const ActingContext& context, const at::Tensor& obs);

  StormOptions options_;
  c10::Device device_;
  bool bf16_;
  int64_t num_actions_;
  std::unique_ptr<LoopWorldModel> world_model_;
  std::unique_ptr<agents::ActorCritic> actor_critic_;
};

}  // namespace imagine::train
