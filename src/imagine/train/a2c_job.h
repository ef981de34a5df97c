#pragma once
// kind = "a2c" (model-free A2C) and kind = "i2a" (the same learner training the
// imagination-augmented agent on a frozen world model).
#include <cstdint>
#include <memory>

#include "imagine/agents/a2c/a2c.h"
#include "imagine/envs/env.h"
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

std::unique_ptr<Job> make_a2c_job(const Config& config);
void validate_i2a(const Config& config, const envs::EnvSpec& spec);

}  // namespace imagine::train
