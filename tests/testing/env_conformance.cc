#include "tests/testing/env_conformance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "imagine/core/rng.h"
#include "imagine/envs/registry.h"

namespace imagine::testing {

namespace {
struct Trace {
  std::vector<uint8_t> obs;  // every observation, concatenated
  std::vector<float> rewards;
  std::vector<uint8_t> flags;
};

// Runs a uniformly random policy for `steps` steps, resetting after each episode end.
Trace run_random(const envs::EnvOptions& options, uint64_t seed, int64_t steps, bool keep_obs) {
  envs::EnvPtr env = envs::default_registry().make(options);
  const envs::EnvSpec& spec = env->spec();
  Rng policy(seed * 7919 + 1);
  std::vector<uint8_t> obs(static_cast<size_t>(spec.obs_size()));
  Trace t;
  env->seed(seed);
  env->reset(obs.data());
  for (int64_t i = 0; i < steps; ++i) {
    const int64_t a = policy.uniform_int(0, spec.num_actions - 1);
    const envs::StepOutcome out = env->step(a, obs.data());
    t.rewards.push_back(out.reward);
    t.flags.push_back(static_cast<uint8_t>(out.terminated | out.truncated << 1 | out.life_lost << 2));
    if (keep_obs) t.obs.insert(t.obs.end(), obs.begin(), obs.end());
    if (out.terminated || out.truncated) {
      env->reset(obs.data());
      if (keep_obs) t.obs.insert(t.obs.end(), obs.begin(), obs.end());
    }
  }
  return t;
}
}  // namespace

void check_env_conformance(const envs::EnvOptions& options, const ConformanceOptions& checks) {
  SCOPED_TRACE("env " + options.id + " obs=" + config::enum_name(options.obs));
  envs::EnvPtr env = envs::default_registry().make(options);
  const envs::EnvSpec& spec = env->spec();

  // Spec consistency.
  EXPECT_EQ(spec.id, options.id);
  EXPECT_GT(spec.channels, 0);
  EXPECT_GT(spec.height, 0);
  EXPECT_GT(spec.width, 0);
  EXPECT_GT(spec.num_actions, 0);
  EXPECT_EQ(static_cast<size_t>(spec.num_actions), spec.action_meanings.size());
  EXPECT_GE(spec.frame_skip, 1);
  EXPECT_GT(spec.max_episode_steps, 0);
  EXPECT_TRUE(spec.obs_scale == 1.0f || std::abs(spec.obs_scale - 1.0f / 255.0f) < 1e-9f);
  if (options.obs == envs::Observation::kRgb) {
    EXPECT_EQ(spec.channels, 3);
    EXPECT_EQ(spec.height, options.image_size);
    EXPECT_EQ(spec.width, options.image_size);
  }

  // Observation bounds, flag semantics, episode lengths within the cap.
  const int max_value = spec.obs_scale == 1.0f ? 1 : 255;
  std::vector<uint8_t> obs(static_cast<size_t>(spec.obs_size()), 0xAB);
  Rng policy(3);
  env->seed(11);
  env->reset(obs.data());
  int64_t length = 0, episodes = 0;
  for (int64_t i = 0; i < checks.steps; ++i) {
    for (uint8_t v : obs) ASSERT_LE(v, max_value) << "observation value out of range at step " << i;
    const envs::StepOutcome out = env->step(policy.uniform_int(0, spec.num_actions - 1), obs.data());
    ++length;
    ASSERT_TRUE(std::isfinite(out.reward));
    ASSERT_FALSE(out.terminated && out.truncated) << "a step is either terminated or truncated, not both";
    ASSERT_LE(length, spec.max_episode_steps);
    if (length == spec.max_episode_steps) {
      ASSERT_TRUE(out.terminated || out.truncated) << "step cap not applied";
    }
    if (out.terminated || out.truncated) {
      ++episodes;
      length = 0;
      env->reset(obs.data());
    }
  }
  EXPECT_GT(episodes, 0) << "no episode ended in " << checks.steps << " random steps";

  // Determinism: the same seed and actions give the same everything, bit for bit.
  const Trace a = run_random(options, 5, checks.steps, true);
  const Trace b = run_random(options, 5, checks.steps, true);
  EXPECT_EQ(a.obs, b.obs);
  EXPECT_EQ(a.rewards, b.rewards);
  EXPECT_EQ(a.flags, b.flags);
  if (checks.seeds_change_trajectory) {
    const Trace c = run_random(options, 6, checks.steps, true);
    EXPECT_TRUE(a.obs != c.obs || a.rewards != c.rewards) << "seeds 5 and 6 gave identical trajectories";
  }

  // Skipping observations (nullptr) must not change the dynamics.
  const Trace skipped = run_random(options, 5, checks.steps, false);
  EXPECT_EQ(a.rewards, skipped.rewards);
  EXPECT_EQ(a.flags, skipped.flags);
}

}  // namespace imagine::testing
