// MinAtar Breakout: conformance, the rules of minatar-rules.md section 2 (worked examples,
// quirks, testable properties) and the random-policy statistics of section 8.
#include "imagine/envs/builtin/minatar/breakout.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include "imagine/core/rng.h"
#include "tests/envs/minatar_test_util.h"
#include "tests/testing/env_conformance.h"

namespace imagine::envs::minatar {
namespace {

constexpr int kChannels = 4;
using minatar_test::Obs;
constexpr const char* kId = "minatar/breakout";
using minatar_test::game_options;
using minatar_test::at;
using minatar_test::count_plane;

// The single set cell of a plane; fails the test if there is not exactly one.
std::pair<int, int> only_cell(const Obs& obs, int c) {
  EXPECT_EQ(count_plane(obs, c), 1) << "channel " << c;
  for (int i = 0; i < 100; ++i)
    if (obs[static_cast<size_t>(c * 100 + i)]) return {i / 10, i % 10};
  return {-1, -1};
}

// A game reset with a seed whose start draw is k (0: ball at column 0, 1: column 9).
Breakout game_with_start(int k, Obs& obs) {
  for (uint64_t seed = 0;; ++seed) {
    Breakout game(game_options(kId));
    game.seed(seed);
    game.reset(obs.data());
    if (game.state().ball_col == (k == 0 ? 0 : 9)) return game;
  }
}

void clear_bricks(Breakout::State& s) {
  s.bricks.fill(0);
  s.brick_count = 0;
}

void set_brick(Breakout::State& s, int r, int c, bool on) {
  uint8_t& b = s.bricks[static_cast<size_t>(r * 10 + c)];
  s.brick_count += static_cast<int>(on) - static_cast<int>(b);
  b = on;
}

TEST(BreakoutConformance, Symbolic) { testing::check_env_conformance(game_options(kId, -1)); }

TEST(BreakoutConformance, Rgb) {
  EnvOptions o = game_options(kId, -1);
  o.obs = envs::Observation::kRgb;
  testing::check_env_conformance(o, {1000, true});
}

TEST(BreakoutConformance, MinimalActions) {
  EnvOptions o = game_options(kId, -1);
  o.minimal_actions = true;
  testing::check_env_conformance(o);
  EnvPtr env = default_registry().make(o);
  EXPECT_EQ(env->spec().action_meanings, (std::vector<std::string>{"noop", "left", "right"}));
}

TEST(BreakoutTest, ResetPlacesBricksPaddleAndBallOnEitherSide) {
  Obs obs(kChannels * 100);
  int left = 0, right = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Breakout game(game_options(kId));
    game.seed(seed);
    game.reset(obs.data());
    EXPECT_EQ(only_cell(obs, 0), std::make_pair(9, 4));
    for (int r = 0; r < 10; ++r)
      for (int c = 0; c < 10; ++c) EXPECT_EQ(at(obs, 3, r, c), r >= 1 && r <= 3) << r << "," << c;
    const auto ball = only_cell(obs, 1);
    EXPECT_EQ(only_cell(obs, 2), ball) << "the trail equals the ball right after reset";
    ASSERT_EQ(ball.first, 3);
    ASSERT_TRUE(ball.second == 0 || ball.second == 9);
    (ball.second == 0 ? left : right)++;
  }
  // Each side has probability 1/2: 200 draws put both counts well inside [60, 140].
  EXPECT_GT(left, 60);
  EXPECT_GT(right, 60);
}

TEST(BreakoutTest, WorkedExampleStartLeftEndsAtStep6) {
  Obs obs(kChannels * 100);
  Breakout game = game_with_start(0, obs);
  const std::vector<std::pair<int, int>> cells = {{4, 1}, {5, 2}, {6, 3}, {7, 4}, {8, 5}, {9, 6}};
  for (size_t i = 0; i < cells.size(); ++i) {
    const StepOutcome out = game.step(0, obs.data());
    EXPECT_EQ(only_cell(obs, 1), cells[i]) << "step " << i + 1;
    EXPECT_EQ(out.reward, 0.0f);
    EXPECT_EQ(out.terminated, i + 1 == cells.size()) << "step " << i + 1;
    EXPECT_FALSE(out.truncated);
  }
  // The terminal step shows the ball in row 9, away from the paddle, as is its trail.
  EXPECT_EQ(only_cell(obs, 2), std::make_pair(8, 5));
  // Stepping a finished game changes nothing and returns (0, terminal).
  const Obs before = obs;
  const StepOutcome after = game.step(1, obs.data());
  EXPECT_TRUE(after.terminated);
  EXPECT_EQ(after.reward, 0.0f);
  EXPECT_EQ(obs, before);
}

TEST(BreakoutTest, WorkedExampleStartRightBreaksOneBrickAndEndsAtStep16) {
  Obs obs(kChannels * 100);
  Breakout game = game_with_start(1, obs);
  const std::vector<std::pair<int, int>> cells = {{4, 8}, {5, 7}, {6, 6}, {7, 5}, {8, 4}, {8, 3}, {7, 2}, {6, 1},
                                                  {5, 0}, {4, 0}, {4, 1}, {5, 2}, {6, 3}, {7, 4}, {8, 5}, {9, 6}};
  float total = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    const int step = static_cast<int>(i) + 1;
    const StepOutcome out = game.step(0, obs.data());
    total += out.reward;
    EXPECT_EQ(only_cell(obs, 1), cells[i]) << "step " << step;
    EXPECT_EQ(out.reward, step == 11 ? 1.0f : 0.0f) << "step " << step;
    EXPECT_EQ(out.terminated, step == 16) << "step " << step;
    const Breakout::State& s = game.state();
    if (step == 6) {
      EXPECT_EQ(std::make_pair(s.vr, s.vc), std::make_pair(-1, -1)) << "up-left after the catch";
    }
    if (step == 10) {
      EXPECT_EQ(std::make_pair(s.vr, s.vc), std::make_pair(-1, 1)) << "up-right after the wall";
    }
    if (step == 11) {
      EXPECT_EQ(std::make_pair(s.vr, s.vc), std::make_pair(1, 1)) << "down-right after the brick";
      EXPECT_EQ(at(obs, 3, 3, 1), 0) << "brick (3,1) removed";
      EXPECT_EQ(count_plane(obs, 3), 29);
    }
  }
  EXPECT_EQ(total, 1.0f);
}

TEST(BreakoutTest, StruckBallPassesThroughBricksUntilAnEmptyTarget) {
  // The rules' pass-through example: (2,3) missing, the ball there heading down-right.
  Obs obs(kChannels * 100);
  Breakout game = game_with_start(0, obs);
  Breakout::State& s = game.state();
  set_brick(s, 2, 3, false);
  s.ball_row = 2;
  s.ball_col = 3;
  s.vr = 1;
  s.vc = 1;
  s.strike = false;

  StepOutcome out = game.step(0, obs.data());
  EXPECT_EQ(out.reward, 1.0f);
  EXPECT_EQ(at(obs, 3, 3, 4), 0) << "(3,4) broken";
  EXPECT_EQ(only_cell(obs, 1), std::make_pair(2, 4)) << "lands inside the intact brick at (2,4)";
  EXPECT_EQ(at(obs, 3, 2, 4), 1);
  EXPECT_EQ(std::make_pair(s.vr, s.vc), std::make_pair(-1, 1));
  EXPECT_TRUE(s.strike);

  out = game.step(0, obs.data());
  EXPECT_EQ(out.reward, 0.0f);
  EXPECT_EQ(only_cell(obs, 1), std::make_pair(1, 5)) << "enters (1,5) without breaking it";
  EXPECT_EQ(at(obs, 3, 1, 5), 1);
  EXPECT_TRUE(s.strike);
  EXPECT_EQ(count_plane(obs, 3), 28);

  out = game.step(0, obs.data());
  EXPECT_EQ(out.reward, 0.0f);
  EXPECT_EQ(only_cell(obs, 1), std::make_pair(0, 6));
  EXPECT_FALSE(s.strike) << "the flag clears on the first target without a brick";
  EXPECT_EQ(count_plane(obs, 3), 28);
}

TEST(BreakoutTest, BallStartingInsideABrickLeavesItUnbroken) {
  Obs obs(kChannels * 100);
  Breakout game = game_with_start(0, obs);
  EXPECT_EQ(at(obs, 3, 3, 0), 1);
  EXPECT_EQ(at(obs, 1, 3, 0), 1) << "the ball starts on a brick";
  const StepOutcome out = game.step(0, obs.data());
  EXPECT_EQ(out.reward, 0.0f);
  EXPECT_EQ(at(obs, 3, 3, 0), 1) << "that brick is never tested";
  EXPECT_EQ(count_plane(obs, 3), 30);
}

TEST(BreakoutTest, CornerBouncesCanLeaveTheBallInPlace) {
  Obs obs(kChannels * 100);
  Breakout game = game_with_start(0, obs);
  Breakout::State& s = game.state();
  // Top-left corner: side wall and top wall together.
  s.ball_row = 0;
  s.ball_col = 0;
  s.vr = -1;
  s.vc = -1;
  game.step(0, obs.data());
  EXPECT_EQ(only_cell(obs, 1), std::make_pair(0, 0));
  EXPECT_EQ(std::make_pair(s.vr, s.vc), std::make_pair(1, 1));
  // Side wall and a brick: the brick at (3,0) breaks and the ball stays at (4,0).
  s.ball_row = 4;
  s.ball_col = 0;
  s.vr = -1;
  s.vc = -1;
  s.strike = false;
  const StepOutcome out = game.step(0, obs.data());
  EXPECT_EQ(out.reward, 1.0f);
  EXPECT_EQ(only_cell(obs, 1), std::make_pair(4, 0));
  EXPECT_EQ(at(obs, 3, 3, 0), 0);
  EXPECT_EQ(std::make_pair(s.vr, s.vc), std::make_pair(1, 1));
}

TEST(BreakoutTest, PaddleCatchesUnderTheBallOrUnderTheTarget) {
  Obs obs(kChannels * 100);
  Breakout game = game_with_start(0, obs);
  Breakout::State& s = game.state();
  // Paddle under the target column: both components reverse, the ball stays in row 8.
  s.paddle = 4;
  s.ball_row = 8;
  s.ball_col = 3;
  s.vr = 1;
  s.vc = 1;
  StepOutcome out = game.step(0, obs.data());
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(only_cell(obs, 1), std::make_pair(8, 4));
  EXPECT_EQ(std::make_pair(s.vr, s.vc), std::make_pair(-1, -1));
  // Paddle under the ball: only the vertical component reverses.
  s.ball_row = 8;
  s.ball_col = 4;
  s.vr = 1;
  s.vc = 1;
  out = game.step(0, obs.data());
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(only_cell(obs, 1), std::make_pair(8, 5));
  EXPECT_EQ(std::make_pair(s.vr, s.vc), std::make_pair(-1, 1));
  // The paddle moves first: moving right under the target at (9,5) also catches.
  s.ball_row = 8;
  s.ball_col = 6;
  s.vr = 1;
  s.vc = -1;
  out = game.step(3, obs.data());
  EXPECT_EQ(s.paddle, 5);
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(only_cell(obs, 1), std::make_pair(8, 5));
}

TEST(BreakoutTest, MissedBallEndsTheGame) {
  Obs obs(kChannels * 100);
  Breakout game = game_with_start(0, obs);
  Breakout::State& s = game.state();
  s.paddle = 0;
  s.ball_row = 8;
  s.ball_col = 5;
  s.vr = 1;
  s.vc = 1;
  const StepOutcome out = game.step(0, obs.data());
  EXPECT_TRUE(out.terminated);
  EXPECT_FALSE(out.truncated);
  EXPECT_EQ(only_cell(obs, 1), std::make_pair(9, 6));
  EXPECT_EQ(only_cell(obs, 0), std::make_pair(9, 0));
}

TEST(BreakoutTest, BricksRefillOnlyOnABottomTargetStepEvenWhenItEndsTheGame) {
  Obs obs(kChannels * 100);
  Breakout game = game_with_start(0, obs);
  Breakout::State& s = game.state();
  clear_bricks(s);
  s.paddle = 0;
  s.ball_row = 7;
  s.ball_col = 2;
  s.vr = 1;
  s.vc = 1;
  StepOutcome out = game.step(0, obs.data());
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(count_plane(obs, 3), 0) << "no refill while the target row is 8";
  out = game.step(0, obs.data());
  EXPECT_TRUE(out.terminated);
  EXPECT_EQ(count_plane(obs, 3), 30) << "refilled on the step whose target row is 9";
  for (int c = 0; c < 10; ++c) EXPECT_EQ(at(obs, 3, 1, c) + at(obs, 3, 2, c) + at(obs, 3, 3, c), 3);
}

TEST(BreakoutTest, OnlyLeftAndRightMatterAndThePaddleIsClamped) {
  // Actions 0, 2, 4 and 5 give identical trajectories under the same seed.
  Rng policy(17);
  std::vector<int64_t> actions(200);
  for (auto& a : actions) a = std::vector<int64_t>{0, 2, 4, 5}[static_cast<size_t>(policy.uniform_int(0, 3))];
  auto run = [&](bool use_actions) {
    Breakout game(game_options(kId));
    game.seed(3);
    Obs obs(kChannels * 100), all;
    game.reset(obs.data());
    for (int64_t a : actions) {
      const StepOutcome out = game.step(use_actions ? a : 0, obs.data());
      all.insert(all.end(), obs.begin(), obs.end());
      all.push_back(static_cast<uint8_t>(out.reward));
      if (out.terminated) game.reset(obs.data());
    }
    return all;
  };
  EXPECT_EQ(run(true), run(false));

  Obs obs(kChannels * 100);
  Breakout game = game_with_start(1, obs);
  for (int i = 0; i < 5; ++i) game.step(1, obs.data());
  EXPECT_EQ(game.state().paddle, 0);
  EXPECT_EQ(only_cell(obs, 0), std::make_pair(9, 0));
}

TEST(BreakoutTest, RandomPlayKeepsTheTestableProperties) {
  EnvOptions o = game_options(kId, 0.1);
  EnvPtr env = default_registry().make(o);
  Rng policy(5);
  Obs prev(kChannels * 100), obs(kChannels * 100);
  env->seed(9);
  env->reset(prev.data());
  int bricks_removed = 0;
  double episode_return = 0;
  int episodes = 0, refills = 0;
  for (int step = 0; step < 20000; ++step) {
    const StepOutcome out = env->step(policy.uniform_int(0, 5), obs.data());
    ASSERT_TRUE(out.reward == 0.0f || out.reward == 1.0f);
    episode_return += out.reward;
    const auto paddle0 = only_cell(prev, 0), paddle = only_cell(obs, 0);
    ASSERT_EQ(paddle.first, 9);
    ASSERT_LE(std::abs(paddle.second - paddle0.second), 1);
    const auto ball0 = only_cell(prev, 1), ball = only_cell(obs, 1), trail = only_cell(obs, 2);
    ASSERT_LE(std::abs(ball.first - ball0.first), 1);
    ASSERT_LE(std::abs(ball.second - ball0.second), 1);
    ASSERT_EQ(trail, ball0) << "the trail is where the ball was";
    ASSERT_EQ(out.terminated, ball.first == 9) << "terminal exactly when the ball is in row 9";
    if (out.terminated) {
      ASSERT_NE(ball.second, paddle.second);
      ASSERT_NE(trail.second, paddle.second);
    }
    for (int r = 0; r < 10; ++r)
      for (int c = 0; c < 10; ++c)
        if (r < 1 || r > 3) {
          ASSERT_EQ(at(obs, 3, r, c), 0);
        }
    const int before = count_plane(prev, 3), after = count_plane(obs, 3);
    if (after > before) {
      ASSERT_EQ(before, 0);
      ASSERT_EQ(after, 30);
      ASSERT_EQ(ball0.first, 8) << "refills happen only on steps whose target row is 9";
      ++refills;
    } else {
      ASSERT_EQ(before - after, static_cast<int>(out.reward));
      bricks_removed += before - after;
    }
    if (out.terminated) {
      ASSERT_EQ(episode_return, bricks_removed) << "the return counts the bricks removed";
      episode_return = 0;
      bricks_removed = 0;
      ++episodes;
      env->reset(obs.data());
    }
    prev = obs;
  }
  EXPECT_GT(episodes, 500);
}

TEST(BreakoutStatistics, RandomPolicyMatchesReference) {
  // Section 8: mean return 0.508 (s.e. 0.013), mean length 11.2 (s.e. 0.14), min length 6.
  const auto s = minatar_test::random_policy_stats("minatar/breakout", 20000, 1);
  minatar_test::expect_mean_matches("mean return", s.mean_return, s.se_return, 0.508, 0.013);
  minatar_test::expect_mean_matches("mean length", s.mean_length, s.se_length, 11.2, 0.14);
  EXPECT_NEAR(s.std_return, 0.718, 0.05);
  EXPECT_NEAR(s.std_length, 7.48, 0.5);
  EXPECT_GE(s.min_length, 6);
  EXPECT_TRUE(s.any_terminated);
  EXPECT_FALSE(s.any_truncated);
}

}  // namespace
}  // namespace imagine::envs::minatar
