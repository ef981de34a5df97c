#pragma once
// Temporally extended epsilon-greedy exploration ("ez-greedy", Dabney, Ostrovski & Barreto,
// "Temporally-Extended epsilon-Greedy Exploration", ICLR 2021): instead of one random action,
// an exploratory step starts a run of one uniformly drawn action held for n steps, with n drawn
// from a zeta (power-law) distribution P(n) ~ n^-exponent on 1..max_repeat. Runs of one action
// reach states that single random actions rarely do (on MinAtar Freeway the chicken must move up
// nine rows past traffic: uniform actions over its 6 actions cross about once in 20,000 steps,
// runs of up to 100 steps 14 times as often; `imagine envs stats --policy ez_greedy`).
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "imagine/core/rng.h"

namespace imagine::agents {

class EzGreedy {
 public:
  EzGreedy(double exponent, int64_t max_repeat);

  // The action of this step if it explores: the held action while a run lasts; otherwise, with
  // probability epsilon, the first step of a new run. std::nullopt: the caller's policy acts.
  std::optional<int64_t> explore(double epsilon, int64_t num_actions, Rng& rng);
  // Ends the current run (at an episode's end, so no run carries into the next episode).
  void end_run() { remaining_ = 0; }

  // Mean run length of the truncated zeta distribution.
  double mean_run_length() const;

  // The run in progress, for exact resume.
  nlohmann::json state() const;
  void set_state(const nlohmann::json& j);

 private:
  int64_t draw_length(Rng& rng) const;

  std::vector<double> cdf_;  // cdf_[n - 1] = P(length <= n)
  int64_t action_ = 0;
  int64_t remaining_ = 0;  // steps of the current run still to come
};

}  // namespace imagine::agents
