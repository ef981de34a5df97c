#pragma once
// kind = "storm": the joint STORM loop (specs/storm.md "Training loop") on one environment.
//
// Per environment step: act, store the row in the replay buffer, and after `warmup_steps`
// random steps, every `train_every` steps run `world_model_updates` world-model updates and
// `actor_critic_updates` actor-critic updates, each on a fresh imagination.
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
//
// Randomness: imagine::Rng draws replay windows and warm-up actions; every tensor sample
// (latents, policy actions, dropout) uses LibTorch's default generator. Both are in the
// checkpoint, with everything else needed to continue exactly (on the CPU; the CUDA
// generator is not saved).
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "imagine/agents/actor_critic/actor_critic.h"
#include "imagine/core/rng.h"
#include "imagine/data/replay_buffer.h"
#include "imagine/envs/vector_env.h"
#include "imagine/models/storm/storm_world_model.h"
#include "imagine/train/job.h"

namespace torch::optim {
class Adam;
}  // namespace torch::optim

namespace imagine::train {

// The STORM job's own checks of a config (loop sizes against the transformer's positions, the
// world model's options for this environment, the actor-critic's, memory); see validate().
void validate_storm(const Config& config, const envs::EnvSpec& spec);

// The world model of a storm checkpoint's archive behind the world-model contract.
std::shared_ptr<models::WorldModel> storm_world_model(const Config& config, InputArchive& archive);

class StormJob : public Job {
 public:
  explicit StormJob(const Config& config);
  ~StormJob() override;

  std::string kind() const override { return "storm"; }
  int64_t step() const override { return step_; }
  void advance() override;
  std::map<std::string, double> take_metrics() override;
  std::string progress_metric() const override;
  // Archive entries: world_model, world_model_optimiser, actor_critic, torch_rng,
  // env_actions, acting_obs, acting_actions and, with save_replay_in_checkpoint, replay (the
  // bytes of ReplayBuffer::save's file as a uint8 tensor). Without it, load() rebuilds the
  // buffer by replaying the environment's action history into it.
  void save(OutputArchive& archive, nlohmann::json& meta) override;
  void load(InputArchive& archive, const nlohmann::json& meta) override;
  // world_model/{encoder,posterior,decoder,transformer,heads}, world_model, actor_critic/{actor,
  // critic,slow_critic} and actor_critic (actor + critic, the trained part).
  std::vector<std::pair<std::string, int64_t>> parameter_counts() override;
  // Complete episodes with sampled actions and the training acting mode; leaves the
  // training's random state untouched.
  std::vector<double> evaluate(int64_t episodes, uint64_t seed) override;
  // Acts with the current policy; each environment of the caller keeps its own context.
  Policy policy() override;
  void set_media_dir(const std::string& dir) override { media_dir_ = dir; }

  // Imagines from real context windows: context obs [B, L, C, H, W] uint8, action [B, L],
  // first [B, L] (a replay Batch) -> rollout with features [H + 1, B, F], actions, rewards
  // and continues [H, B]. Eval mode, no gradient, no host synchronisation in the loop.
  agents::ImaginedRollout imagine(const data::Batch& context);
  // One world-model update on a sampled [batch_size, batch_length] batch.
  models::storm::Losses update_world_model();
  // One actor-critic update on an imagination from sampled contexts.
  agents::ActorCriticLosses update_actor_critic();
  std::vector<at::Tensor> actor_critic_parameters();
  // Writes media/reconstruction-<step>.gif and media/imagination-<step>.gif (needs a media dir).
  void write_media();

  models::storm::WorldModel& world_model() { return world_model_; }
  // The world model behind the world-model contract (shares its parameters).
  models::storm::StormWorldModel& imagination_model() { return *imagination_model_; }
  agents::ActorCritic& actor_critic() { return *actor_critic_; }
  const data::ReplayBuffer& replay() const { return replay_; }
  // The generator of replay windows and warm-up actions (for callers that sample contexts).
  Rng& sampling_rng() { return rng_; }

 private:
  struct ActingContext {
    std::vector<at::Tensor> obs;  // previous frames of the episode, each [C, H, W] uint8
    std::vector<int64_t> actions;
    void push(const at::Tensor& o, int64_t a, int64_t keep);
    void clear();
  };
  // Policy features for the current frame (see the header comment), [1, F]; undefined when
  // the action must be uniform (storm mode, first step of an episode).
  at::Tensor acting_features(const ActingContext& context, const at::Tensor& obs);
  int64_t policy_action(const ActingContext& context, const at::Tensor& obs);
  // The imagination's start from context windows (on the device): all L positions consumed
  // and the next latent sampled from the prior, as the reference does.
  models::WorldStatePtr imagination_start(const data::Batch& context);
  // obs: current observation [C, H, W]; first: it starts an episode.
  void store(const at::Tensor& obs, int64_t action, const envs::StepResult& result, bool first);
  void rebuild_replay(const envs::VectorEnv::History& history);
  void train_round();
  void add(const std::string& key, const at::Tensor& value);
  void add(const std::string& key, double value);

  Config config_;
  StormOptions options_;
  envs::VectorEnv env_;
  double obs_scale_;
  c10::Device device_;
  bool bf16_;  // precision = "bf16": forward passes under bf16 autocast
  data::ReplayBuffer replay_;
  models::storm::WorldModel world_model_{nullptr};
  std::unique_ptr<models::storm::StormWorldModel> imagination_model_;
  std::unique_ptr<torch::optim::Adam> world_model_optimiser_;
  std::unique_ptr<agents::ActorCritic> actor_critic_;
  Rng rng_;

  at::Tensor obs_;  // current observation [C, H, W] uint8
  bool first_ = true;
  ActingContext acting_;
  int64_t step_ = 0;
  int64_t world_model_updates_ = 0;
  int64_t actor_critic_updates_ = 0;

  std::string media_dir_;
  bool media_failed_ = false;
  std::map<std::string, std::pair<at::Tensor, int64_t>> sums_;
  std::vector<double> episode_returns_;
  std::vector<double> episode_lengths_;
  double recent_return_ = 0.0;
  bool have_return_ = false;
};

}  // namespace imagine::train
