// MinAtar Space Invaders against minatar-rules.md section 6 (rules, quirks, testable
// properties) and section 8 (random-policy statistics).
#include "imagine/envs/builtin/minatar/space_invaders.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "imagine/core/rng.h"
#include "imagine/envs/registry.h"
#include "tests/envs/minatar_test_util.h"
#include "tests/testing/env_conformance.h"

namespace imagine::envs::minatar {
namespace {

using State = SpaceInvaders::State;
using Grid = SpaceInvaders::Grid;
constexpr int kChannels = 6;
constexpr int kNever = 1 << 30;  // a countdown that never reaches 0 in a test

enum : int64_t { kNoop = 0, kLeft = 1, kUp = 2, kRight = 3, kDown = 4, kFire = 5 };

constexpr const char* kId = "minatar/space_invaders";
using minatar_test::game_options;

struct Fixture {
  explicit Fixture(EnvOptions options = game_options(kId)) : game(options), obs(kChannels * 100) {
    game.reset(obs.data());
  }
  StepOutcome step(int64_t action) { return game.step(action, obs.data()); }
  bool at(int channel, int row, int col) const { return obs[static_cast<size_t>((channel * 10 + row) * 10 + col)] != 0; }
  int count(int channel) const {
    return static_cast<int>(std::count(obs.begin() + channel * 100, obs.begin() + (channel + 1) * 100, 1));
  }
  SpaceInvaders game;
  std::vector<uint8_t> obs;
};

Grid grid_of(std::initializer_list<std::pair<int, int>> cells) {
  Grid g{};
  for (auto [r, c] : cells) SpaceInvaders::put(g, r, c);
  return g;
}

TEST(SpaceInvadersConformance, Symbolic) { testing::check_env_conformance(game_options(kId, -1)); }

TEST(SpaceInvadersConformance, Rgb) {
  EnvOptions o = game_options(kId, -1);
  o.obs = envs::Observation::kRgb;
  o.image_size = 32;
  testing::check_env_conformance(o, {1000, true});
}

TEST(SpaceInvadersConformance, MinimalActions) {
  EnvOptions o = game_options(kId, -1);
  o.minimal_actions = true;
  testing::check_env_conformance(o);
}

TEST(SpaceInvadersTest, ResetObservation) {
  Fixture f;
  EXPECT_TRUE(f.at(0, 9, 5));
  EXPECT_EQ(f.count(0), 1);
  EXPECT_EQ(f.count(1), 24);
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 10; ++c) {
      const bool alien = r <= 3 && c >= 2 && c <= 7;
      EXPECT_EQ(f.at(1, r, c), alien);
      EXPECT_EQ(f.at(2, r, c), alien);  // heading left
    }
  EXPECT_EQ(f.count(3) + f.count(4) + f.count(5), 0);
}

TEST(SpaceInvadersTest, MinimalActionSet) {
  EnvOptions o = game_options(kId);
  o.minimal_actions = true;
  Fixture f(o);
  ASSERT_EQ(f.game.spec().num_actions, 4);
  EXPECT_EQ(f.game.spec().action_meanings, (std::vector<std::string>{"noop", "left", "right", "fire"}));
  f.step(2);  // minimal index 2 = right
  EXPECT_EQ(f.game.state().cannon, 6);
  EXPECT_EQ(f.game.last_executed_action(), kRight);
}

// Testable property 3: with noop only, the first enemy bullet appears at (3,5) at step 11,
// reaches (9,5) at step 17 and ends the episode with return 0; aliens move left at step 13.
TEST(SpaceInvadersTest, NoopOnlyEpisode) {
  Fixture f;
  float ret = 0;
  for (int t = 1; t <= 17; ++t) {
    const StepOutcome out = f.step(kNoop);
    ret += out.reward;
    EXPECT_EQ(out.terminated, t == 17) << "step " << t;
    if (t < 11) { EXPECT_EQ(f.count(5), 0); }
    if (t >= 11) {
      EXPECT_EQ(f.count(5), 1);
      EXPECT_TRUE(f.at(5, 3 + (t - 11), 5)) << "step " << t;
    }
    if (t == 11) { EXPECT_TRUE(f.at(1, 3, 5)); }  // the bullet starts on its shooter
    const bool moved = t >= 13;
    EXPECT_EQ(f.at(1, 0, 1), moved) << "step " << t;
    EXPECT_EQ(f.at(1, 0, 7), !moved) << "step " << t;
  }
  EXPECT_EQ(ret, 0.0f);
}

// 6.5 / property 6: with 24 aliens and I = 12 the block moves every 12 steps from step 13,
// sideways until it meets an edge, then down one row with the heading reversed.
TEST(SpaceInvadersTest, AlienBlockMovesEveryTwelveSteps) {
  Fixture f;
  for (int t = 0; t < 4; ++t) f.step(kRight);  // cannon to column 9, out of the shots' way
  ASSERT_EQ(f.game.state().cannon, 9);
  std::vector<int> move_steps;
  Grid before = f.game.state().aliens;
  // Until step 90: the shot fired at step 91 comes down column 9.
  for (int t = 5; t <= 90; ++t) {
    ASSERT_FALSE(f.step(kNoop).terminated) << "step " << t;
    const Grid& now = f.game.state().aliens;
    if (now != before) move_steps.push_back(t);
    before = now;
    if (t == 37) {
      Grid expected{};
      for (int r = 1; r <= 4; ++r)
        for (int c = 0; c <= 5; ++c) SpaceInvaders::put(expected, r, c);
      EXPECT_EQ(now, expected);  // reached column 0 at step 25, stepped down at 37
      EXPECT_EQ(f.game.state().heading, 1);
      EXPECT_TRUE(f.at(3, 1, 0));
      EXPECT_EQ(f.count(2), 0);
    }
  }
  EXPECT_EQ(move_steps, (std::vector<int>{13, 25, 37, 49, 61, 73, 85}));
}

// 6.3 rule 6: the countdown reloads with min(count, I), so a lone alien moves every step.
TEST(SpaceInvadersTest, LoneAlienMovesEveryStep) {
  Fixture f;
  State s = f.game.state();
  s.aliens = grid_of({{0, 2}});
  s.move_countdown = 0;
  s.shot_countdown = kNever;
  f.game.set_state(s);
  const int cols[] = {1, 0, 0, 1, 2};
  const int rows[] = {0, 0, 1, 1, 1};
  for (int t = 0; t < 5; ++t) {
    f.step(kNoop);
    EXPECT_TRUE(SpaceInvaders::at(f.game.state().aliens, rows[t], cols[t])) << "step " << t + 1;
    EXPECT_EQ(f.game.state().move_countdown, 0);
  }
}

// 6.3 rule 7: the shot comes from the lowest alien of the occupied column nearest the cannon,
// the left one on a tie; it appears on the shooter and moves from the next step.
TEST(SpaceInvadersTest, ShotFromNearestColumnLowestAlienTieLeft) {
  Fixture f;
  State s = f.game.state();
  s.aliens = grid_of({{1, 3}, {2, 3}, {0, 7}, {5, 9}});
  s.move_countdown = kNever;
  s.shot_countdown = 0;
  f.game.set_state(s);
  f.step(kNoop);
  EXPECT_EQ(f.count(5), 1);
  EXPECT_TRUE(f.at(5, 2, 3));
  EXPECT_EQ(f.game.state().shot_countdown, 9);
  f.step(kNoop);
  EXPECT_TRUE(f.at(5, 3, 3));
  // Cannon under column 8: columns 7 and 9 tie at distance 1; the left one shoots.
  s.cannon = 8;
  s.enemy_bullets = {};
  f.game.set_state(s);
  f.step(kNoop);
  EXPECT_TRUE(f.at(5, 0, 7));
  EXPECT_EQ(f.count(5), 1);
}

// 6.5: a friendly bullet is first seen in row 8 and lives 9 steps; fire works every 5 steps.
TEST(SpaceInvadersTest, FriendlyBulletLifetimeAndCooldown) {
  Fixture f;
  State s = f.game.state();
  s.aliens = grid_of({{0, 0}});
  s.move_countdown = kNever;
  s.shot_countdown = kNever;
  f.game.set_state(s);
  for (int t = 1; t <= 12; ++t) {
    f.step(kFire);
    for (int r = 0; r < 10; ++r) {
      // Bullets fired at steps 1, 6, 11 are in row 8 - (t - fired) after step t (rows 8..0).
      bool expected = false;
      for (int fired : {1, 6, 11})
        if (t >= fired && 8 - (t - fired) == r) expected = true;
      EXPECT_EQ(f.at(4, r, 5), expected) << "step " << t << " row " << r;
    }
  }
}

// Rule 8 and the pass-through quirk: kills are tested only after all motion.
TEST(SpaceInvadersTest, KillsAfterMotionAndPassThrough) {
  {  // a bullet meets a resting alien
    Fixture f;
    State s = f.game.state();
    s.aliens = grid_of({{4, 5}, {0, 0}});
    s.friendly_bullets = grid_of({{5, 5}});
    s.move_countdown = 5;
    s.shot_countdown = kNever;
    f.game.set_state(s);
    EXPECT_EQ(f.step(kNoop).reward, 1.0f);
    EXPECT_EQ(SpaceInvaders::count(f.game.state().aliens), 1);
    EXPECT_EQ(f.count(4), 0);
  }
  {  // the alien steps down while the bullet moves up: they swap and both survive
    Fixture f;
    State s = f.game.state();
    s.aliens = grid_of({{4, 0}, {0, 3}});
    s.friendly_bullets = grid_of({{5, 0}});
    s.move_countdown = 0;
    s.shot_countdown = kNever;
    f.game.set_state(s);
    EXPECT_EQ(f.step(kNoop).reward, 0.0f);
    EXPECT_TRUE(SpaceInvaders::at(f.game.state().aliens, 5, 0));
    EXPECT_TRUE(f.at(4, 4, 0));
  }
  {  // the alien moves sideways out of the cell the bullet enters
    Fixture f;
    State s = f.game.state();
    s.aliens = grid_of({{4, 5}});
    s.friendly_bullets = grid_of({{5, 5}});
    s.move_countdown = 0;
    s.shot_countdown = kNever;
    f.game.set_state(s);
    EXPECT_EQ(f.step(kNoop).reward, 0.0f);
    EXPECT_TRUE(SpaceInvaders::at(f.game.state().aliens, 4, 4));
    EXPECT_TRUE(f.at(4, 4, 5));
  }
}

// Rule 10 / property 9: clearing a wave refills 24 aliens and ramps I down to 6; the
// countdowns, heading and bullets carry over.
TEST(SpaceInvadersTest, WaveClearRefillsAndRamps) {
  for (bool ramping : {true, false}) {
    EnvOptions o = game_options(kId);
    o.difficulty_ramping = ramping;
    Fixture f(o);
    for (int wave = 1; wave <= 9; ++wave) {
      State s = f.game.state();
      s.aliens = grid_of({{4, 5}});
      s.friendly_bullets = grid_of({{5, 5}});
      s.enemy_bullets = grid_of({{1, 1}});
      s.heading = 1;
      s.move_countdown = 7;
      s.shot_countdown = kNever;
      f.game.set_state(s);
      const StepOutcome out = f.step(kNoop);
      EXPECT_EQ(out.reward, 1.0f);
      EXPECT_FALSE(out.terminated);
      const State& now = f.game.state();
      EXPECT_EQ(now.aliens, SpaceInvaders::full_wave());
      EXPECT_EQ(now.move_interval, ramping ? std::max(12 - wave, 6) : 12) << "wave " << wave;
      EXPECT_EQ(now.ramp_index, ramping ? std::min(wave, 6) : 0) << "wave " << wave;
      EXPECT_EQ(now.heading, 1);
      EXPECT_EQ(now.move_countdown, 6);
      EXPECT_TRUE(SpaceInvaders::at(now.enemy_bullets, 2, 1));
      EXPECT_EQ(f.count(3), 24);  // heading right
      EXPECT_EQ(f.count(2), 0);
    }
  }
}

// Rules 5-6: an alien on the cannon, or aliens in row 9 forced down at an edge, end the game.
TEST(SpaceInvadersTest, AliensReachingTheCannonEndTheGame) {
  {
    Fixture f;
    State s = f.game.state();
    s.aliens = grid_of({{9, 6}});
    s.move_countdown = 0;
    s.shot_countdown = kNever;
    f.game.set_state(s);
    EXPECT_TRUE(f.step(kNoop).terminated);  // moves left onto the cannon at column 5
  }
  {
    Fixture f;
    State s = f.game.state();
    s.aliens = grid_of({{9, 0}, {8, 3}});
    s.move_countdown = 0;
    s.shot_countdown = kNever;
    f.game.set_state(s);
    EXPECT_TRUE(f.step(kNoop).terminated);  // an edge step-down with an alien in row 9
    EXPECT_TRUE(SpaceInvaders::at(f.game.state().aliens, 0, 0));  // it wraps to row 0
    EXPECT_TRUE(SpaceInvaders::at(f.game.state().aliens, 9, 3));
  }
  {
    Fixture f;
    State s = f.game.state();
    s.aliens = grid_of({{9, 3}, {2, 8}});
    s.move_countdown = kNever;
    s.shot_countdown = kNever;
    f.game.set_state(s);
    EXPECT_FALSE(f.step(kNoop).terminated);  // harmless in row 9 away from the cannon
  }
}

// Properties 2 and 8: deterministic given the executed actions; 2 and 4 behave like noop.
TEST(SpaceInvadersTest, DeterministicAndUpDownAreNoop) {
  auto run = [](uint64_t seed, bool replace_up_down) {
    EnvOptions o = game_options(kId, 0.0);
    EnvPtr env = default_registry().make(o);
    env->seed(seed);
    std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_size()));
    std::vector<uint8_t> all;
    std::vector<float> rewards;
    env->reset(obs.data());
    Rng policy(99);
    for (int t = 0; t < 3000; ++t) {
      int64_t a = policy.uniform_int(0, 5);
      if (replace_up_down && (a == kUp || a == kDown)) a = kNoop;
      const StepOutcome out = env->step(a, obs.data());
      all.insert(all.end(), obs.begin(), obs.end());
      rewards.push_back(out.reward + (out.terminated ? 100.0f : 0.0f));
      if (out.terminated || out.truncated) env->reset(obs.data());
    }
    return std::make_pair(all, rewards);
  };
  const auto a = run(1, false);
  const auto b = run(2, false);
  const auto c = run(3, true);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_EQ(a.first, c.first);
  EXPECT_EQ(a.second, c.second);
}

// Properties 1, 4, 5, 7 along random play.
TEST(SpaceInvadersTest, InvariantsUnderRandomPlay) {
  Fixture f(game_options(kId, 0.1));
  f.game.seed(4);
  f.game.reset(f.obs.data());
  Rng policy(5);
  int episodes = 0;
  float ret = 0;
  int killed = 0;
  for (int t = 0; t < 20000; ++t) {
    const State before = f.game.state();
    const StepOutcome out = f.step(policy.uniform_int(0, 5));
    const State& s = f.game.state();
    ASSERT_TRUE(out.reward == 0.0f || out.reward == 1.0f || out.reward == 2.0f);
    ASSERT_LE(SpaceInvaders::count(s.friendly_bullets), 2);
    ASSERT_LE(std::abs(s.cannon - before.cannon), 1);
    const int n_before = SpaceInvaders::count(before.aliens), n_now = SpaceInvaders::count(s.aliens);
    if (n_now > n_before - static_cast<int>(out.reward)) { ASSERT_EQ(s.aliens, SpaceInvaders::full_wave()); }
    else ASSERT_EQ(n_now, n_before - static_cast<int>(out.reward));
    ret += out.reward;
    killed += static_cast<int>(out.reward);
    // Exactly one heading channel is set, and it equals channel 1.
    const int heading_channel = s.heading < 0 ? 2 : 3;
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(f.obs[static_cast<size_t>(heading_channel * 100 + i)], f.obs[static_cast<size_t>(100 + i)]);
      ASSERT_EQ(f.obs[static_cast<size_t>((5 - heading_channel) * 100 + i)], 0);
    }
    // Bullets move one row per step in their direction; the only other bullets are one just
    // fired by the aliens (on its shooter) or by the cannon (in row 8).
    Grid enemy_moved{}, friendly_moved{};
    for (int r = 1; r < 10; ++r) enemy_moved[static_cast<size_t>(r)] = before.enemy_bullets[static_cast<size_t>(r - 1)];
    for (int r = 0; r < 9; ++r) friendly_moved[static_cast<size_t>(r)] = before.friendly_bullets[static_cast<size_t>(r + 1)];
    const bool cannon_fired = f.game.last_executed_action() == kFire && before.shot_cooldown == 0;
    if (cannon_fired) SpaceInvaders::put(friendly_moved, 8, s.cannon);
    int new_enemy = 0;
    for (int r = 0; r < 10; ++r) {
      const size_t i = static_cast<size_t>(r);
      ASSERT_EQ(s.friendly_bullets[i] & ~friendly_moved[i], 0) << "row " << r;
      new_enemy += __builtin_popcount(s.enemy_bullets[i] & ~enemy_moved[i]);
    }
    ASSERT_LE(new_enemy, before.shot_countdown == 0 ? 1 : 0);
    if (out.terminated) {
      ++episodes;
      f.game.reset(f.obs.data());
    }
  }
  EXPECT_GT(episodes, 100);
  EXPECT_EQ(ret, static_cast<float>(killed));
}

// Section 8: uniformly random policy over all 6 actions, sticky 0.1, ramping on. Reference:
// mean return 2.82 (sd 2.29, s.e. 0.042), mean length 50.7 (sd 38.3, s.e. 0.70), min length
// 17, 5.56 % of steps rewarded. Tolerance: 4 standard errors of the difference between our
// estimate and the reference's (for the rewarded fraction, binomial standard errors over steps).
TEST(SpaceInvadersStatistics, RandomPolicyMatchesReference) {
  const auto s = minatar_test::random_policy_stats("minatar/space_invaders", 6000, 7);
  EXPECT_FALSE(s.any_truncated);
  minatar_test::expect_mean_matches("mean return", s.mean_return, s.se_return, 2.82, 0.042);
  minatar_test::expect_mean_matches("mean length", s.mean_length, s.se_length, 50.7, 0.7);
  minatar_test::expect_rewarded_fraction_matches(s, 0.0556, 50.7);
  EXPECT_GE(s.min_length, 17);
}

}  // namespace
}  // namespace imagine::envs::minatar
