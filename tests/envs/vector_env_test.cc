#include "imagine/envs/vector_env.h"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "imagine/core/error.h"
#include "imagine/core/rng.h"
#include "imagine/envs/registry.h"
#include "tests/envs/allocation_counter.h"

namespace imagine::envs {
namespace {

EnvOptions options_for(const std::string& id, int64_t max_steps = 0, Observation obs = Observation::kSymbolic) {
  EnvOptions o;
  o.id = id;
  o.max_episode_steps = max_steps;
  o.obs = obs;
  return o;
}

// Every id that names one game (family entries such as atari/<game> do not).
std::vector<std::string> builtin_ids() {
  std::vector<std::string> ids;
  for (const auto& id : default_registry().ids())
    if (id.find('<') == std::string::npos) ids.push_back(id);
  return ids;
}

// Fills `actions` ([N] int64) with uniform random actions.
void random_actions(Rng& rng, at::Tensor& actions, int64_t num_actions) {
  int64_t* a = actions.data_ptr<int64_t>();
  for (int64_t i = 0; i < actions.size(0); ++i) a[i] = rng.uniform_int(0, num_actions - 1);
}

void expect_same_result(const StepResult& a, const StepResult& b, int64_t step) {
  EXPECT_TRUE(a.obs.equal(b.obs)) << "step " << step;
  EXPECT_TRUE(a.reward.equal(b.reward)) << "step " << step;
  EXPECT_TRUE(a.terminated.equal(b.terminated)) << "step " << step;
  EXPECT_TRUE(a.truncated.equal(b.truncated)) << "step " << step;
  EXPECT_TRUE(a.life_lost.equal(b.life_lost)) << "step " << step;
  // final_obs and the episode statistics are only defined where an episode ended.
  const at::Tensor done = a.terminated | a.truncated;
  EXPECT_TRUE(a.final_obs.index({done}).equal(b.final_obs.index({done}))) << "step " << step;
  EXPECT_TRUE(a.episode_return.index({done}).equal(b.episode_return.index({done}))) << "step " << step;
  EXPECT_TRUE(a.episode_length.index({done}).equal(b.episode_length.index({done}))) << "step " << step;
}

// A VectorEnv against N single envs seeded seed + i and reset by hand: observations,
// rewards, flags, final observations and episode statistics must agree at every step.
void check_against_single_envs(const EnvOptions& options, int64_t threads, int64_t steps, int64_t min_episodes) {
  const int64_t n = 5;
  const uint64_t seed = 41;
  VectorEnv venv(options, n, threads);
  const StepResult& first = venv.reset(seed);
  const EnvSpec& spec = venv.spec();
  const auto size = static_cast<size_t>(spec.obs_size());
  std::vector<EnvPtr> singles;
  std::vector<std::vector<uint8_t>> obs(static_cast<size_t>(n), std::vector<uint8_t>(size));
  std::vector<double> returns(static_cast<size_t>(n), 0.0), vector_returns(static_cast<size_t>(n), 0.0);
  std::vector<int64_t> lengths(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    singles.push_back(default_registry().make(options));
    singles.back()->seed(seed + static_cast<uint64_t>(i));
    singles.back()->reset(obs[static_cast<size_t>(i)].data());
    EXPECT_EQ(std::memcmp(first.obs[i].data_ptr<uint8_t>(), obs[static_cast<size_t>(i)].data(), size), 0) << i;
  }
  Rng rng(3);
  auto actions = torch::empty({n}, torch::kInt64);
  int64_t episodes = 0;
  for (int64_t t = 0; t < steps; ++t) {
    random_actions(rng, actions, spec.num_actions);
    const StepResult& r = venv.step(actions);
    for (int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<size_t>(i);
      const StepOutcome out = singles[k]->step(actions[i].item<int64_t>(), obs[k].data());
      ASSERT_EQ(r.reward[i].item<float>(), out.reward) << "env " << i << " step " << t;
      ASSERT_EQ(r.terminated[i].item<bool>(), out.terminated) << "env " << i << " step " << t;
      ASSERT_EQ(r.truncated[i].item<bool>(), out.truncated) << "env " << i << " step " << t;
      ASSERT_EQ(r.life_lost[i].item<bool>(), out.life_lost) << "env " << i << " step " << t;
      returns[k] += out.reward;
      vector_returns[k] += r.reward[i].item<float>();
      lengths[k] += 1;
      if (out.terminated || out.truncated) {
        ++episodes;
        // final_obs: the last observation of the ended episode; obs: the first of the next.
        ASSERT_EQ(std::memcmp(r.final_obs[i].data_ptr<uint8_t>(), obs[k].data(), size), 0) << "env " << i;
        singles[k]->reset(obs[k].data());
        ASSERT_EQ(std::memcmp(r.obs[i].data_ptr<uint8_t>(), obs[k].data(), size), 0) << "env " << i;
        // The return includes the final step's reward (summed from the vector's own rewards too).
        EXPECT_FLOAT_EQ(r.episode_return[i].item<float>(), static_cast<float>(returns[k]));
        EXPECT_FLOAT_EQ(r.episode_return[i].item<float>(), static_cast<float>(vector_returns[k]));
        EXPECT_EQ(r.episode_length[i].item<int64_t>(), lengths[k]);
        EXPECT_EQ(venv.running_return()[k], 0.0);
        returns[k] = vector_returns[k] = 0.0;
        lengths[k] = 0;
      } else {
        ASSERT_EQ(std::memcmp(r.obs[i].data_ptr<uint8_t>(), obs[k].data(), size), 0) << "env " << i << " step " << t;
        EXPECT_DOUBLE_EQ(venv.running_return()[k], returns[k]);
      }
    }
  }
  EXPECT_GE(episodes, min_episodes);  // the run must exercise auto-reset
}

TEST(VectorEnvTest, MatchesSingleEnvsSeededSeedPlusIWithTerminations) {
  // Random Breakout episodes last tens of steps: many terminations.
  check_against_single_envs(options_for("minatar/breakout"), 1, 300, 10);
}

TEST(VectorEnvTest, MatchesSingleEnvsWithTruncationsAndStepRewards) {
  // Avoid pays 0.1 every step, so the final step's reward matters to the return; the cap
  // of 25 steps truncates most episodes.
  check_against_single_envs(options_for("minipacman/avoid", 25), 2, 150, 20);
}

TEST(VectorEnvTest, MatchesSingleEnvsWithRgbObservations) {
  check_against_single_envs(options_for("minatar/space_invaders", 40, Observation::kRgb), 2, 100, 5);
}

// Runs `steps` random steps on `threads` threads and returns every result, cloned.
std::vector<StepResult> run_vector(const EnvOptions& options, int64_t n, int64_t threads, int64_t steps) {
  VectorEnv venv(options, n, threads);
  std::vector<StepResult> out;
  auto clone = [](const StepResult& r) {
    return StepResult{r.obs.clone(),       r.reward.clone(),    r.terminated.clone(),     r.truncated.clone(),
                      r.life_lost.clone(), r.final_obs.clone(), r.episode_return.clone(), r.episode_length.clone()};
  };
  out.push_back(clone(venv.reset(9)));
  Rng rng(4);
  auto actions = torch::empty({n}, torch::kInt64);
  for (int64_t t = 0; t < steps; ++t) {
    random_actions(rng, actions, venv.spec().num_actions);
    out.push_back(clone(venv.step(actions)));
  }
  return out;
}

TEST(VectorEnvTest, ThreadCountDoesNotChangeResults) {
  for (const char* id : {"minatar/seaquest", "minipacman/hunt"}) {
    const EnvOptions options = options_for(id, 60);
    const auto one = run_vector(options, 7, 1, 120);
    for (int64_t threads : {2, 3}) {
      const auto many = run_vector(options, 7, threads, 120);
      ASSERT_EQ(one.size(), many.size());
      for (size_t t = 0; t < one.size(); ++t) expect_same_result(one[t], many[t], static_cast<int64_t>(t));
    }
  }
}

TEST(VectorEnvTest, RestoringTheHistoryReproducesTheStateExactly) {
  const EnvOptions options = options_for("minatar/asterix", 50);
  const int64_t n = 4;
  VectorEnv original(options, n, 2);
  original.reset(17);
  Rng rng(5);
  auto actions = torch::empty({n}, torch::kInt64);
  for (int t = 0; t < 137; ++t) {
    random_actions(rng, actions, original.spec().num_actions);
    original.step(actions);
  }
  VectorEnv restored(options, n, 1);
  restored.reset(99);  // a different state first: restore must replace it entirely
  restored.step(actions);
  restored.restore(original.history());
  EXPECT_EQ(restored.history().seed, original.history().seed);
  EXPECT_EQ(restored.history().actions, original.history().actions);
  EXPECT_EQ(restored.running_return(), original.running_return());
  expect_same_result(restored.step_result(), original.step_result(), -1);
  // The hidden state (game internals, random streams, step counters) must match too: the
  // two must stay identical from here on.
  for (int t = 0; t < 200; ++t) {
    random_actions(rng, actions, original.spec().num_actions);
    const StepResult& a = original.step(actions);
    const StepResult& b = restored.step(actions);
    expect_same_result(a, b, t);
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(VectorEnvTest, RestoreRejectsAHistoryOfAnotherSize) {
  VectorEnv venv(options_for("minatar/freeway"), 3, 1);
  VectorEnv::History history;
  history.actions = {0, 1, 2, 3};
  EXPECT_THROW(venv.restore(history), UserError);
}

TEST(VectorEnvTest, BadActionsRaiseAndLeaveTheHistoryAlone) {
  VectorEnv venv(options_for("minatar/breakout"), 3, 2);
  venv.reset(1);
  const int64_t a = venv.spec().num_actions;
  EXPECT_THROW(venv.step(torch::zeros({4}, torch::kInt64)), c10::Error);
  EXPECT_THROW(venv.step(torch::zeros({3, 1}, torch::kInt64)), c10::Error);
  EXPECT_THROW(venv.step(torch::scalar_tensor(0, torch::kInt64)), c10::Error);
  EXPECT_THROW(venv.step(torch::zeros({3}, torch::kInt32)), c10::Error);
  EXPECT_THROW(venv.step(torch::zeros({3}, torch::kFloat32)), c10::Error);
  EXPECT_THROW(venv.step(torch::tensor({0, -1, 0}, torch::kInt64)), c10::Error);
  EXPECT_THROW(venv.step(torch::tensor({int64_t{0}, int64_t{0}, a}, torch::kInt64)), c10::Error);
  EXPECT_TRUE(venv.history().actions.empty());
  // A strided (non-contiguous) but otherwise valid tensor is accepted.
  const auto wide = torch::tensor({1, 9, 2, 9, 0, 9}, torch::kInt64);
  venv.step(wide.slice(0, 0, 6, 2));
  EXPECT_EQ(venv.history().actions, (std::vector<uint8_t>{1, 2, 0}));
}

TEST(VectorEnvTest, RejectsBadSizes) {
  EXPECT_THROW(VectorEnv(options_for("minatar/breakout"), 0, 1), UserError);
  EXPECT_THROW(VectorEnv(options_for("minatar/breakout"), 2, 0), UserError);
  EXPECT_THROW(VectorEnv(options_for("minatar/nope"), 2, 1), UserError);
}

// Steps a single env with random actions, resetting when an episode ends.
void step_single(Env& env, Rng& rng, std::vector<uint8_t>& obs, int64_t steps) {
  const int64_t last = env.spec().num_actions - 1;
  for (int64_t t = 0; t < steps; ++t) {
    const StepOutcome out = env.step(rng.uniform_int(0, last), obs.data());
    if (out.terminated || out.truncated) env.reset(obs.data());
  }
}

TEST(AllocationTest, SingleEnvStepsAndResetsAllocateNothingAfterWarmUp) {
  for (const auto& id : builtin_ids()) {
    for (Observation obs_kind : {Observation::kSymbolic, Observation::kRgb}) {
      // A short cap so that resets (and truncations) happen inside the counted window.
      const auto env = default_registry().make(options_for(id, 200, obs_kind));
      std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_size()));
      Rng rng(6);
      env->seed(6);
      env->reset(obs.data());
      step_single(*env, rng, obs, 1000);
      const int64_t before = testing::allocations();
      step_single(*env, rng, obs, 2000);
      EXPECT_EQ(testing::allocations() - before, 0) << id << " " << config::enum_name(obs_kind);
    }
  }
}

TEST(AllocationTest, VectorEnvStepsAllocateNothingAfterWarmUp) {
  // The action history is reserved in blocks of 65536 steps at reset, far more than this
  // test takes, so its growth does not show here.
  for (const char* id : {"minatar/breakout", "minatar/seaquest", "minipacman/regular"}) {
    for (int64_t threads : {1, 2}) {
      VectorEnv venv(options_for(id, 100), 8, threads);
      venv.reset(2);
      Rng rng(7);
      auto actions = torch::empty({8}, torch::kInt64);
      for (int t = 0; t < 200; ++t) {
        random_actions(rng, actions, venv.spec().num_actions);
        venv.step(actions);
      }
      const int64_t before = testing::allocations();
      for (int t = 0; t < 400; ++t) {
        random_actions(rng, actions, venv.spec().num_actions);
        venv.step(actions);
      }
      EXPECT_EQ(testing::allocations() - before, 0) << id << " threads " << threads;
    }
  }
}

}  // namespace
}  // namespace imagine::envs
