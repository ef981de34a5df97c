#pragma once
// Shared pieces of the MinAtar rule tests: options, observation access, and the
// random-policy episode statistics of minatar-rules.md section 8 (uniform over all 6
// actions, sticky actions 0.1, difficulty ramping on).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "imagine/core/rng.h"
#include "imagine/envs/registry.h"

namespace imagine::envs::minatar_test {

using Obs = std::vector<uint8_t>;  // a symbolic observation, [C, 10, 10]

// `id` with the given sticky-action probability (-1: the game's default) and ramping.
inline EnvOptions game_options(const std::string& id, double sticky = 0.0, bool ramping = true) {
  EnvOptions o;
  o.id = id;
  o.sticky_action_prob = sticky;
  o.difficulty_ramping = ramping;
  return o;
}

inline uint8_t at(const Obs& obs, int c, int r, int col) { return obs[static_cast<size_t>((c * 10 + r) * 10 + col)]; }

inline int count_plane(const Obs& obs, int c) {
  int n = 0;
  for (int i = 0; i < 100; ++i) n += obs[static_cast<size_t>(c * 100 + i)];
  return n;
}

struct EpisodeStats {
  int64_t episodes = 0;
  double mean_return = 0, se_return = 0;  // se: sample std / sqrt(episodes)
  double mean_length = 0, se_length = 0;
  double std_return = 0, std_length = 0;
  int64_t min_length = 0, max_length = 0;
  double max_return = 0;
  int64_t steps = 0, rewarded_steps = 0;
  bool any_terminated = false, any_truncated = false;
};

// Plays `episodes` episodes of `id` under the section 8 settings, without observations.
inline EpisodeStats random_policy_stats(const std::string& id, int64_t episodes, uint64_t seed) {
  EnvOptions options;
  options.id = id;
  options.sticky_action_prob = 0.1;
  options.difficulty_ramping = true;
  EnvPtr env = default_registry().make(options);
  Rng policy(seed + 1000003);
  env->seed(seed);
  double sum_r = 0, sum_r2 = 0, sum_l = 0, sum_l2 = 0;
  EpisodeStats s;
  s.episodes = episodes;
  s.min_length = INT64_MAX;
  s.max_return = -1e30;
  for (int64_t e = 0; e < episodes; ++e) {
    env->reset(nullptr);
    double ret = 0;
    int64_t len = 0;
    for (;;) {
      const StepOutcome out = env->step(policy.uniform_int(0, 5), nullptr);
      ret += out.reward;
      ++len;
      s.rewarded_steps += out.reward != 0.0f;
      if (out.terminated || out.truncated) {
        s.any_terminated |= out.terminated;
        s.any_truncated |= out.truncated;
        break;
      }
    }
    sum_r += ret;
    sum_r2 += ret * ret;
    sum_l += static_cast<double>(len);
    sum_l2 += static_cast<double>(len) * static_cast<double>(len);
    s.steps += len;
    s.min_length = std::min(s.min_length, len);
    s.max_length = std::max(s.max_length, len);
    s.max_return = std::max(s.max_return, ret);
  }
  const double n = static_cast<double>(episodes);
  s.mean_return = sum_r / n;
  s.mean_length = sum_l / n;
  s.std_return = std::sqrt(std::max(0.0, sum_r2 / n - s.mean_return * s.mean_return));
  s.std_length = std::sqrt(std::max(0.0, sum_l2 / n - s.mean_length * s.mean_length));
  s.se_return = s.std_return / std::sqrt(n - 1);
  s.se_length = s.std_length / std::sqrt(n - 1);
  std::printf("%s: %lld episodes, return %.4f +- %.4f (std %.3f, max %.0f), length %.2f +- %.3f (std %.2f, min %lld)\n",
              id.c_str(), static_cast<long long>(episodes), s.mean_return, s.se_return, s.std_return, s.max_return,
              s.mean_length, s.se_length, s.std_length, static_cast<long long>(s.min_length));
  return s;
}

// Two-sample tolerance: `z` standard errors of the difference between our mean and the
// reference mean (whose standard error the rules give).
inline void expect_mean_matches(const char* what, double ours, double our_se, double reference, double ref_se,
                                double z = 4.0) {
  const double tolerance = z * std::sqrt(our_se * our_se + ref_se * ref_se);
  EXPECT_NEAR(ours, reference, tolerance) << what << ": ours " << ours << " (s.e. " << our_se << "), reference "
                                          << reference << " (s.e. " << ref_se << ")";
}

// The fraction of rewarded steps against the reference's, with binomial standard errors
// over our steps and the reference's (3,000 episodes of the given mean length).
inline void expect_rewarded_fraction_matches(const EpisodeStats& s, double reference, double ref_mean_length) {
  const double ours = static_cast<double>(s.rewarded_steps) / static_cast<double>(s.steps);
  const double se = std::sqrt(reference * (1 - reference) *
                              (1.0 / (3000 * ref_mean_length) + 1.0 / static_cast<double>(s.steps)));
  EXPECT_NEAR(ours, reference, 4.0 * se) << "fraction of rewarded steps";
}

}  // namespace imagine::envs::minatar_test
