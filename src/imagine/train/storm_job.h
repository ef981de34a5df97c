#pragma once
// kind = "storm": the joint STORM loop (specs/storm.md "Training loop") on one environment, with
// STORM's world model or a state-space model (storm.world_model_class, train/loop_world_model.h).
//
// Per environment step: act, store the row in the replay buffer, and after `warmup_steps`
// random steps, every `train_every` steps run `world_model_updates` world-model updates and
// `actor_critic_updates` actor-critic updates, each on a fresh imagination.
//
// The agent (world model, actor-critic, their optimisers, acting) is a StormAgent
// (train/storm_agent.h); the job owns the environment, the replay buffer, the metrics, the
// checkpoint and the media.
//
// Randomness: imagine::Rng draws replay windows, warm-up and exploratory actions; every tensor sample
// (latents, policy actions, dropout) uses LibTorch's default generator. Both are in the
// checkpoint, with everything else needed to continue exactly (on the CPU; the CUDA
// generator is not saved).
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "imagine/agents/exploration/ez_greedy.h"
#include "imagine/core/rng.h"
#include "imagine/data/replay_buffer.h"
#include "imagine/envs/vector_env.h"
#include "imagine/train/job.h"
#include "imagine/train/storm_agent.h"

namespace imagine::train {

// The STORM job's own checks of a config (loop sizes against the transformer's positions, the
// world model's options for this environment, the actor-critic's, memory); see validate().
void validate_storm(const Config& config, const envs::EnvSpec& spec);

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

  StormAgent& agent() { return *agent_; }
  const data::ReplayBuffer& replay() const { return replay_; }

 private:
  // obs: current observation [C, H, W]; first: it starts an episode.
  void store(const at::Tensor& obs, int64_t action, const envs::StepResult& result, bool first);
  void rebuild_replay(const envs::VectorEnv::History& history);
  void train_round();
  // Writes media/reconstruction-<step>.gif and media/imagination-<step>.gif (needs a media dir).
  void write_media();
  void add(const std::string& key, const at::Tensor& value);
  void add(const std::string& key, double value);

  Config config_;
  StormOptions options_;
  envs::VectorEnv env_;
  double obs_scale_;
  c10::Device device_;
  data::ReplayBuffer replay_;
  int64_t media_positions_;  // longest sequence media may show (STORM: its KV cache)
  std::unique_ptr<StormAgent> agent_;
  Rng rng_;
  std::optional<agents::EzGreedy> explorer_;  // storm.exploration = "ez_greedy"

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
