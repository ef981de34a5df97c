#pragma once
// kind = "a2c" (model-free A2C) and kind = "i2a" (the same learner training the
// imagination-augmented agent on a frozen world model).
#include <cstdint>
#include <functional>
#include <memory>

#include "imagine/agents/a2c/a2c.h"
#include "imagine/envs/env.h"
#include "imagine/envs/vector_env.h"
#include "imagine/train/config.h"
#include "imagine/train/job.h"

namespace imagine::train {

// The learner a config of either kind trains, and what its job needs to know of it.
struct A2CFamilyAgent {
  agents::A2CAgent agent;
  int64_t context = 1;           // frames the network reads (the world model's context; 1 model-free)
  int64_t model_data_steps = 0;  // environment steps that collected the world model's training data
};
A2CFamilyAgent make_a2c_family_agent(const Config& config, const envs::EnvSpec& spec);

// The frames the agent sees at an episode's start: [N, L, C, H, W], the first frame L times.
at::Tensor initial_frames(const at::Tensor& obs, int64_t context);

// Steps `env` `length` times with `agent`'s actions on the frames in `frames` ([N, L, C, H, W],
// the newest last; updated in place, a finished episode restarting from its first frame) and
// returns the A2C rollout; `episode_end(return)` is called for every finished episode.
agents::A2CRollout collect_a2c_rollout(envs::VectorEnv& env, agents::A2CAgent& agent, at::Tensor& frames,
                                       int64_t length, const std::function<void(double)>& episode_end = {});

std::unique_ptr<Job> make_a2c_job(const Config& config);
void validate_i2a(const Config& config, const envs::EnvSpec& spec);

}  // namespace imagine::train
