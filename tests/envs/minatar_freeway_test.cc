// MinAtar Freeway: conformance, the rules of minatar-rules.md section 4 (chicken cooldown,
// car timing, crossings, hits, the 2,501-step limit reported as truncation) and the
// section 8 statistics.
#include "imagine/envs/builtin/minatar/freeway.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "imagine/core/rng.h"
#include "tests/envs/minatar_test_util.h"
#include "tests/testing/env_conformance.h"

namespace imagine::envs::minatar {
namespace {

constexpr int kChannels = 7;
constexpr int kEpisodeSteps = 2501;
using minatar_test::Obs;
constexpr const char* kId = "minatar/freeway";
using minatar_test::game_options;
using minatar_test::at;
using minatar_test::count_plane;

int chicken_row(const Obs& obs) {
  EXPECT_EQ(count_plane(obs, 0), 1);
  for (int r = 0; r < 10; ++r)
    if (at(obs, 0, r, 4)) return r;
  ADD_FAILURE() << "chicken not in column 4";
  return -1;
}

TEST(FreewayConformance, Symbolic) { testing::check_env_conformance(game_options(kId, -1)); }

TEST(FreewayConformance, Rgb) {
  EnvOptions o = game_options(kId, -1);
  o.obs = envs::Observation::kRgb;
  o.max_episode_steps = 300;  // RGB rendering is slow in Debug; the symbolic suite covers 2,501
  testing::check_env_conformance(o, {700, true});
}

TEST(FreewayConformance, MinimalActions) {
  EnvOptions o = game_options(kId, -1);
  o.minimal_actions = true;
  testing::check_env_conformance(o);
  EnvPtr env = default_registry().make(o);
  EXPECT_EQ(env->spec().action_meanings, (std::vector<std::string>{"noop", "up", "down"}));
}

TEST(FreewayTest, ResetPutsCarsAtColumnZeroAndTheChickenAtTheBottom) {
  Freeway game(game_options(kId));
  Obs obs(kChannels * 100);
  game.seed(1);
  game.reset(obs.data());
  EXPECT_EQ(chicken_row(obs), 9);
  EXPECT_EQ(game.state().cooldown, 3);
  EXPECT_EQ(count_plane(obs, 1), 8);
  for (int r = 1; r <= 8; ++r) {
    const Freeway::Car& car = game.state().cars[static_cast<size_t>(r - 1)];
    EXPECT_EQ(at(obs, 1, r, 0), 1);
    EXPECT_GE(car.period, 1);
    EXPECT_LE(car.period, 5);
    EXPECT_EQ(car.countdown, car.period);
    // The speed cell is behind the car, wrapping: column 9 when heading right, 1 when left.
    EXPECT_EQ(at(obs, 1 + car.period, r, car.heading > 0 ? 9 : 1), 1) << "row " << r;
  }
}

TEST(FreewayTest, EpisodeIsTruncatedAfterExactly2501Steps) {
  EnvPtr env = default_registry().make(game_options(kId, 0.1));
  Rng policy(2);
  env->seed(3);
  for (int episode = 0; episode < 2; ++episode) {
    env->reset(nullptr);
    for (int step = 1; step <= kEpisodeSteps; ++step) {
      const StepOutcome out = env->step(policy.uniform_int(0, 5), nullptr);
      ASSERT_FALSE(out.terminated) << "the time limit is a truncation, step " << step;
      ASSERT_EQ(out.truncated, step == kEpisodeSteps) << "step " << step;
    }
  }
}

TEST(FreewayTest, ChickenMovesAtMostOnceEveryThreeSteps) {
  // Always up: moves happen exactly at steps 4, 7, 10, ...; the earliest crossing is step 28.
  Freeway game(game_options(kId));
  Obs prev(kChannels * 100), obs(kChannels * 100);
  game.seed(4);
  game.reset(prev.data());
  int crossings = 0;
  for (int step = 1; step <= kEpisodeSteps; ++step) {
    const StepOutcome out = game.step(2, obs.data());
    const int before = chicken_row(prev), after = chicken_row(obs);
    ASSERT_NE(after, 0) << "row 0 is never observed";
    if (after != before && after != 9) {
      ASSERT_EQ(after, before - 1);
      ASSERT_EQ(step % 3, 1) << "moved at step " << step;
      ASSERT_GE(step, 4);
    }
    if (out.reward > 0) {
      ASSERT_EQ(out.reward, 1.0f);
      ASSERT_EQ(step % 3, 1);
      ASSERT_GE(step, 28);
      ++crossings;
    }
    ASSERT_EQ(out.truncated, step == kEpisodeSteps);
    prev = obs;
  }
  EXPECT_LE(crossings, 92);
  EXPECT_GT(crossings, 0);
}

TEST(FreewayTest, CarsMoveEveryPeriodPlusOneStepsAndWrap) {
  // With noop the chicken stays in row 9 and no crossing re-randomises the cars.
  Freeway game(game_options(kId));
  Obs obs(kChannels * 100);
  game.seed(5);
  game.reset(obs.data());
  const Freeway::State start = game.state();
  for (int step = 1; step <= 200; ++step) {
    game.step(0, obs.data());
    for (size_t i = 0; i < 8; ++i) {
      const Freeway::Car& car = start.cars[i];
      const int moves = step / (car.period + 1);
      const int expected = ((car.heading * moves) % 10 + 10) % 10;
      ASSERT_EQ(game.state().cars[i].col, expected) << "row " << i + 1 << " step " << step;
      ASSERT_EQ(at(obs, 1, static_cast<int>(i) + 1, expected), 1);
      ASSERT_EQ(game.state().cars[i].period, car.period);
      ASSERT_EQ(game.state().cars[i].heading, car.heading);
    }
  }
}

TEST(FreewayTest, CrossingRewardsAndRerandomisesCarsInPlace) {
  Freeway game(game_options(kId));
  Obs obs(kChannels * 100);
  game.seed(6);
  game.reset(obs.data());
  Freeway::State& s = game.state();
  for (size_t i = 0; i < 8; ++i) {
    s.cars[i].col = static_cast<int>(i);
    s.cars[i].countdown = 1;
  }
  s.chicken_row = 1;
  s.cooldown = 0;
  const StepOutcome out = game.step(2, obs.data());
  EXPECT_EQ(out.reward, 1.0f);
  EXPECT_EQ(chicken_row(obs), 9);
  EXPECT_EQ(s.cooldown, 2);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(s.cars[i].col, static_cast<int>(i)) << "columns are kept";
    EXPECT_EQ(s.cars[i].countdown, s.cars[i].period - 1) << "reloaded with the new period, then counted down";
  }
}

TEST(FreewayTest, HitsSendTheChickenBackWithoutPenalty) {
  Obs obs(kChannels * 100);
  {
    // A car moving onto the chicken.
    Freeway game(game_options(kId));
    game.seed(7);
    game.reset(obs.data());
    Freeway::State& s = game.state();
    s.chicken_row = 3;
    s.cars[2].col = 3;
    s.cars[2].heading = 1;
    s.cars[2].countdown = 0;
    const StepOutcome out = game.step(0, obs.data());
    EXPECT_EQ(out.reward, 0.0f);
    EXPECT_EQ(chicken_row(obs), 9);
    EXPECT_EQ(at(obs, 1, 3, 4), 1);
  }
  {
    // The chicken moving onto a car that stays put.
    Freeway game(game_options(kId));
    game.seed(7);
    game.reset(obs.data());
    Freeway::State& s = game.state();
    s.chicken_row = 4;
    s.cooldown = 0;
    s.cars[2].col = 4;
    s.cars[2].countdown = 3;
    game.step(2, obs.data());
    EXPECT_EQ(chicken_row(obs), 9);
    EXPECT_EQ(s.cars[2].col, 4);
  }
}

TEST(FreewayTest, DownInTheBottomRowStillSpendsTheMove) {
  Freeway game(game_options(kId));
  Obs obs(kChannels * 100);
  game.seed(8);
  game.reset(obs.data());
  game.state().cooldown = 0;
  game.step(4, obs.data());
  EXPECT_EQ(chicken_row(obs), 9);
  EXPECT_EQ(game.state().cooldown, 2);
  game.step(2, obs.data());
  EXPECT_EQ(chicken_row(obs), 9) << "still cooling down";
}

TEST(FreewayTest, OnlyUpAndDownMatter) {
  Rng policy(9);
  std::vector<int64_t> actions(600);
  for (auto& a : actions) a = policy.uniform_int(0, 5);
  auto run = [&](bool collapse) {
    Freeway game(game_options(kId));
    game.seed(10);
    Obs obs(kChannels * 100), all;
    game.reset(obs.data());
    for (int64_t a : actions) {
      const int64_t executed = collapse && a != 2 && a != 4 ? 0 : a;
      const StepOutcome out = game.step(executed, obs.data());
      all.insert(all.end(), obs.begin(), obs.end());
      all.push_back(static_cast<uint8_t>(out.reward));
    }
    return all;
  };
  EXPECT_EQ(run(true), run(false));
}

TEST(FreewayTest, RandomPlayKeepsTheTestableProperties) {
  EnvPtr env = default_registry().make(game_options(kId, 0.1));
  Rng policy(11);
  Obs prev(kChannels * 100), obs(kChannels * 100);
  env->seed(12);
  env->reset(prev.data());
  int last_up = -100;
  std::vector<int> speed_of_row(9, 0);
  for (int step = 1; step <= kEpisodeSteps; ++step) {
    // Mostly up, so that crossings happen.
    const int64_t a = policy.uniform() < 0.7 ? 2 : policy.uniform_int(0, 5);
    const StepOutcome out = env->step(a, obs.data());
    const int before = chicken_row(prev), after = chicken_row(obs);
    ASSERT_NE(after, 0);
    if (after != 9) {
      ASSERT_LE(std::abs(after - before), 1);
    }
    if (after == before - 1) {
      ASSERT_GE(step - last_up, 3) << "two decreases at least 3 steps apart";
      last_up = step;
    }
    ASSERT_EQ(at(obs, 1, after, 4), 0) << "the chicken never shares a cell with a car";
    for (int r = 0; r < 10; ++r) {
      int cars = 0;
      for (int col = 0; col < 10; ++col) cars += at(obs, 1, r, col);
      ASSERT_EQ(cars, r >= 1 && r <= 8 ? 1 : 0);
      if (cars == 0) continue;
      int col = 0;
      while (!at(obs, 1, r, col)) ++col;
      int speed_cells = 0, channel = 0;
      for (int c = 2; c < kChannels; ++c)
        for (int x = 0; x < 10; ++x)
          if (at(obs, c, r, x)) {
            ++speed_cells;
            channel = c;
            ASSERT_TRUE(x == (col + 1) % 10 || x == (col + 9) % 10) << "speed cell next to its car, with wrap";
          }
      ASSERT_EQ(speed_cells, 1);
      // The speed channel changes only on crossing steps.
      if (step > 1 && out.reward == 0.0f) {
        ASSERT_EQ(channel, speed_of_row[static_cast<size_t>(r)]);
      }
      speed_of_row[static_cast<size_t>(r)] = channel;
    }
    prev = obs;
  }
}

TEST(FreewayTest, PeriodsAndHeadingsAreUniform) {
  Freeway game(game_options(kId));
  game.seed(13);
  std::vector<int> periods(6, 0);
  int right = 0, n = 0;
  for (int i = 0; i < 2000; ++i) {
    game.reset(nullptr);
    for (const auto& car : game.state().cars) {
      ++periods[static_cast<size_t>(car.period)];
      right += car.heading > 0;
      ++n;
    }
  }
  for (int p = 1; p <= 5; ++p) EXPECT_NEAR(periods[static_cast<size_t>(p)] / double(n), 0.2, 4 * std::sqrt(0.16 / n));
  EXPECT_NEAR(right / double(n), 0.5, 4 * std::sqrt(0.25 / n));
}

TEST(FreewayStatistics, RandomPolicyMatchesReference) {
  // Section 8: mean return 0.125 (s.e. 0.007), every episode exactly 2,501 steps.
  const auto s = minatar_test::random_policy_stats("minatar/freeway", 1500, 1);
  minatar_test::expect_mean_matches("mean return", s.mean_return, s.se_return, 0.125, 0.007);
  EXPECT_EQ(s.min_length, kEpisodeSteps);
  EXPECT_EQ(s.max_length, kEpisodeSteps);
  EXPECT_LE(s.max_return, 92);
  EXPECT_TRUE(s.any_truncated);
  EXPECT_FALSE(s.any_terminated);
}

}  // namespace
}  // namespace imagine::envs::minatar
