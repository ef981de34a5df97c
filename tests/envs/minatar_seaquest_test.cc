// MinAtar Seaquest against minatar-rules.md section 5 (rules, quirks, testable properties)
// and section 8 (random-policy statistics).
#include "imagine/envs/builtin/minatar/seaquest.h"

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

using State = Seaquest::State;
constexpr int kChannels = 10;
constexpr int kNever = 1 << 30;  // a spawn countdown that never reaches 0 in a test

enum : int64_t { kNoop = 0, kLeft = 1, kUp = 2, kRight = 3, kDown = 4, kFire = 5 };

constexpr const char* kId = "minatar/seaquest";
using minatar_test::game_options;

// A game with sticky actions off, reset, and an observation buffer.
struct Fixture {
  explicit Fixture(EnvOptions options = game_options(kId)) : game(options), obs(kChannels * 100) {
    game.seed(1);
    game.reset(obs.data());
  }
  StepOutcome step(int64_t action) { return game.step(action, obs.data()); }
  bool at(int channel, int row, int col) const { return obs[static_cast<size_t>((channel * 10 + row) * 10 + col)] != 0; }
  int count(int channel) const {
    return static_cast<int>(std::count(obs.begin() + channel * 100, obs.begin() + (channel + 1) * 100, 1));
  }
  // Replaces the state with spawns switched off, so a test sees only what it set up.
  void set_quiet(State s) {
    s.enemy_spawn_countdown = kNever;
    s.diver_spawn_countdown = kNever;
    game.set_state(s);
  }
  Seaquest game;
  std::vector<uint8_t> obs;
};

TEST(SeaquestConformance, Symbolic) { testing::check_env_conformance(game_options(kId, -1)); }

TEST(SeaquestConformance, Rgb) {
  EnvOptions o = game_options(kId, -1);
  o.obs = envs::Observation::kRgb;
  o.image_size = 32;
  testing::check_env_conformance(o, {1000, true});
}

TEST(SeaquestConformance, MinimalActions) {
  EnvOptions o = game_options(kId, -1);
  o.minimal_actions = true;
  testing::check_env_conformance(o);
}

TEST(SeaquestTest, ResetObservation) {
  Fixture f;
  EXPECT_TRUE(f.at(0, 0, 5));  // front
  EXPECT_TRUE(f.at(1, 0, 6));  // back, facing left
  EXPECT_EQ(f.count(0), 1);
  EXPECT_EQ(f.count(1), 1);
  EXPECT_EQ(f.count(7), 10);  // full oxygen gauge, row 9
  for (int c = 0; c < 10; ++c) EXPECT_TRUE(f.at(7, 9, c));
  for (int ch : {2, 3, 4, 5, 6, 8, 9}) EXPECT_EQ(f.count(ch), 0) << "channel " << ch;
  EXPECT_EQ(f.game.spec().num_actions, 6);
}

// Testable property 2: noop never ends the game; enemies appear from step 21, divers from 31,
// and new enemies only on spawn steps 21, 41, 61, ...
TEST(SeaquestTest, NoopStaysSafeAndSpawnsOnSchedule) {
  Fixture f;
  int enemies_before = 0;
  for (int t = 1; t <= 400; ++t) {
    const StepOutcome out = f.step(kNoop);
    ASSERT_FALSE(out.terminated) << "step " << t;
    ASSERT_EQ(out.reward, 0.0f);
    const State& s = f.game.state();
    ASSERT_EQ(s.row, 0);
    ASSERT_EQ(s.col, 5);
    ASSERT_EQ(s.oxygen, 200);
    const int enemies = s.fish.size() + s.subs.size();
    if (t < 21) { ASSERT_EQ(enemies, 0); }
    if (t == 21) {
      ASSERT_EQ(enemies, 1);  // the first spawn cannot be cancelled and has not moved yet
      const int col = s.fish.empty() ? s.subs[0].col : s.fish[0].col;
      EXPECT_TRUE(col == 0 || col == 9);
    }
    if (enemies > enemies_before) { EXPECT_EQ((t - 1) % 20, 0) << "enemy appeared at step " << t; }
    enemies_before = enemies;
    if (t < 31) { ASSERT_EQ(s.divers.size(), 0); }
    if (t == 31) { ASSERT_EQ(s.divers.size(), 1); }
  }
}

// Testable property 3: surfacing with no divers ends the game.
TEST(SeaquestTest, DownThenUpEndsAtStepTwo) {
  Fixture f;
  StepOutcome out = f.step(kDown);
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(f.game.state().row, 1);
  EXPECT_EQ(f.game.state().oxygen, 199);
  out = f.step(kUp);
  EXPECT_TRUE(out.terminated);
  EXPECT_EQ(out.reward, 0.0f);
  // After the end the state is frozen and steps return (0, terminal).
  out = f.step(kDown);
  EXPECT_TRUE(out.terminated);
  EXPECT_EQ(f.game.state().row, 0);
}

// 5.7: the 201st consecutive step under water is terminal; the gauge empties below 20.
TEST(SeaquestTest, OxygenRunsOut) {
  Fixture f;
  f.set_quiet(f.game.state());
  ASSERT_FALSE(f.step(kDown).terminated);
  for (int t = 2; t <= 200; ++t) {
    ASSERT_FALSE(f.step(kNoop).terminated) << "step " << t;
    const int oxygen = f.game.state().oxygen;
    ASSERT_EQ(oxygen, 200 - t);
    ASSERT_EQ(f.count(7), oxygen / 20);
    for (int c = 0; c < oxygen / 20; ++c) ASSERT_TRUE(f.at(7, 9, c));
  }
  EXPECT_EQ(f.count(7), 0);
  EXPECT_TRUE(f.step(kNoop).terminated);
}

// The oxygen check precedes surfacing: surfacing on the 201st step does not save the player,
// but the rest of the step (the surfacing itself) still runs.
TEST(SeaquestTest, SurfacingWithoutOxygenIsStillTerminal) {
  Fixture f;
  State s = f.game.state();
  s.row = 1;
  s.surfaced = false;
  s.oxygen = 0;
  s.divers_carried = 1;
  f.set_quiet(s);
  const StepOutcome out = f.step(kUp);
  EXPECT_TRUE(out.terminated);
  EXPECT_EQ(f.game.state().oxygen, 200);
  EXPECT_EQ(f.game.state().divers_carried, 0);
  EXPECT_EQ(f.game.state().ramp_index, 1);
}

// Surfacing with 6 divers pays floor(O / 20), ramps, and leaves D = -1 (quirk); surfacing
// with D < 0 is not terminal and lowers D further.
TEST(SeaquestTest, FullLoadSurfacingPaysBonusAndGoesNegative) {
  Fixture f;
  State s = f.game.state();
  s.row = 1;
  s.surfaced = false;
  s.oxygen = 150;
  s.divers_carried = 6;
  f.set_quiet(s);
  StepOutcome out = f.step(kUp);
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(out.reward, 7.0f);
  EXPECT_EQ(f.game.state().divers_carried, -1);
  EXPECT_EQ(f.game.state().oxygen, 200);
  EXPECT_TRUE(f.game.state().surfaced);
  EXPECT_EQ(f.game.state().enemy_spawn_interval, 19);
  EXPECT_EQ(f.game.state().ramp_index, 1);
  EXPECT_EQ(f.count(8), 0);  // no diver gauge for D <= 0

  EXPECT_FALSE(f.step(kDown).terminated);
  out = f.step(kUp);
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(out.reward, 0.0f);
  EXPECT_EQ(f.game.state().divers_carried, -2);
  EXPECT_EQ(f.game.state().enemy_spawn_interval, 18);
  EXPECT_EQ(f.game.state().enemy_move_interval, 4);
  EXPECT_EQ(f.game.state().ramp_index, 2);
}

TEST(SeaquestTest, SurfacingWithFewerDiversPaysNothing) {
  Fixture f;
  State s = f.game.state();
  s.row = 1;
  s.surfaced = false;
  s.oxygen = 150;
  s.divers_carried = 5;
  f.set_quiet(s);
  const StepOutcome out = f.step(kUp);
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(out.reward, 0.0f);
  EXPECT_EQ(f.game.state().divers_carried, 4);
  EXPECT_EQ(f.game.state().oxygen, 200);
}

// 5.6: the ramp table, and no ramp when ramping is disabled.
TEST(SeaquestTest, RampScheduleFollowsTable) {
  for (bool ramping : {true, false}) {
    EnvOptions o = game_options(kId);
    o.difficulty_ramping = ramping;
    Fixture f(o);
    State s = f.game.state();
    s.divers_carried = -100;  // every surfacing succeeds
    f.set_quiet(s);
    const int moves[] = {5, 5, 4, 4, 3, 3, 2};
    for (int k = 1; k <= 25; ++k) {
      ASSERT_FALSE(f.step(kDown).terminated);
      ASSERT_FALSE(f.step(kUp).terminated);
      const State& now = f.game.state();
      if (ramping) {
        EXPECT_EQ(now.enemy_spawn_interval, std::max(20 - k, 1)) << "surfacing " << k;
        EXPECT_EQ(now.enemy_move_interval, moves[std::min(k, 6)]) << "surfacing " << k;
        EXPECT_EQ(now.ramp_index, std::min(k, 19)) << "surfacing " << k;
      } else {
        EXPECT_EQ(now.enemy_spawn_interval, 20);
        EXPECT_EQ(now.enemy_move_interval, 5);
        EXPECT_EQ(now.ramp_index, 0);
      }
    }
  }
}

// 5.7: a bullet moves in its creation step; fire works at most every 5 steps and fire during
// the cooldown does nothing.
TEST(SeaquestTest, FireCooldownAndBulletMotion) {
  Fixture f;
  f.set_quiet(f.game.state());
  for (int t = 1; t <= 30; ++t) {
    f.step(kFire);
    const bool fired = (t - 1) % 5 == 0;
    EXPECT_EQ(f.at(2, 0, 4), fired) << "step " << t;  // new bullets show one column left
    EXPECT_EQ(f.game.state().col, 5);
  }
  // Bullets live until they leave the grid: the one fired at step 26 is at column 0 after
  // step 30 and gone after step 31.
  EXPECT_TRUE(f.at(2, 0, 0));
  f.step(kNoop);
  EXPECT_FALSE(f.at(2, 0, 0));
}

TEST(SeaquestTest, LeftAndRightTurnTheSubmarine) {
  Fixture f;
  f.set_quiet(f.game.state());
  f.step(kRight);
  EXPECT_TRUE(f.at(0, 0, 6));
  EXPECT_TRUE(f.at(1, 0, 5));
  for (int t = 0; t < 5; ++t) f.step(kRight);
  EXPECT_EQ(f.game.state().col, 9);
  f.step(kLeft);
  EXPECT_TRUE(f.at(0, 0, 8));
  EXPECT_TRUE(f.at(1, 0, 9));
  for (int t = 0; t < 10; ++t) f.step(kLeft);
  EXPECT_EQ(f.game.state().col, 0);
  EXPECT_TRUE(f.at(1, 0, 1));
  for (int t = 0; t < 12; ++t) f.step(kDown);
  EXPECT_EQ(f.game.state().row, 8);
}

// Rule 5: a bullet destroys one enemy, fish before subs, oldest first.
TEST(SeaquestTest, BulletKillsFishBeforeSubsOldestFirst) {
  Fixture f;
  State s = f.game.state();
  s.row = 3;
  s.surfaced = false;
  s.fish.push_back({3, 4, -1, 3});
  s.fish.push_back({3, 4, -1, 4});
  s.subs.push_back({3, 4, -1, 7, 7});
  f.set_quiet(s);
  StepOutcome out = f.step(kFire);
  EXPECT_EQ(out.reward, 1.0f);
  ASSERT_EQ(f.game.state().fish.size(), 1);
  EXPECT_EQ(f.game.state().fish[0].move_countdown, 3);  // the newer fish (4) survived and counted down
  EXPECT_EQ(f.game.state().subs.size(), 1);
  EXPECT_TRUE(f.game.state().friendly_bullets.empty());
  EXPECT_FALSE(out.terminated);
}

// Quirk: a sub destroyed in its own move phase still fires if its shot countdown is 0; one
// that left the grid fires a bullet that is removed in the same step.
TEST(SeaquestTest, SubRemovedInMovePhaseStillShoots) {
  Fixture f;
  State s = f.game.state();
  s.subs.push_back({5, 3, 1, 0, 0});              // moves onto (5, 4)
  s.friendly_bullets.push_back({5, 5, -1});       // moves onto (5, 4) first, missing the sub
  s.subs.push_back({7, 9, 1, 0, 0});              // leaves the grid
  f.set_quiet(s);
  const StepOutcome out = f.step(kNoop);
  EXPECT_EQ(out.reward, 1.0f);
  EXPECT_TRUE(f.game.state().subs.empty());
  EXPECT_TRUE(f.game.state().friendly_bullets.empty());
  ASSERT_EQ(f.game.state().enemy_bullets.size(), 1);
  const Seaquest::Bullet& b = f.game.state().enemy_bullets[0];
  EXPECT_EQ(b.row, 5);
  EXPECT_EQ(b.col, 5);  // fired at (5, 4), moved in its firing step
  EXPECT_EQ(b.dir, 1);
  EXPECT_TRUE(f.at(4, 5, 5));
}

// 5.8: only the front cell collides, before or after the enemy's move.
TEST(SeaquestTest, OnlyTheFrontCellCollides) {
  State base;
  base.row = 2;
  base.col = 5;
  base.facing = -1;  // back cell (2, 6)
  base.surfaced = false;
  {
    Fixture f;
    State s = base;
    s.fish.push_back({2, 6, -1, 10});
    s.enemy_bullets.push_back({2, 7, -1});  // ends on the back cell
    f.set_quiet(s);
    EXPECT_FALSE(f.step(kNoop).terminated);
    EXPECT_TRUE(f.step(kNoop).terminated);  // the bullet reaches the front cell
  }
  {
    Fixture f;
    State s = base;
    s.fish.push_back({2, 4, 1, 0});  // moves onto the front cell
    f.set_quiet(s);
    EXPECT_TRUE(f.step(kNoop).terminated);
  }
  {
    Fixture f;
    State s = base;
    s.subs.push_back({2, 5, 1, 3, 3});  // already on the front cell
    f.set_quiet(s);
    EXPECT_TRUE(f.step(kNoop).terminated);
  }
}

TEST(SeaquestTest, DiversAreCollectedUpToSix) {
  State base;
  base.row = 2;
  base.surfaced = false;
  {
    Fixture f;
    State s = base;
    s.divers_carried = 2;
    s.divers.push_back({2, 5, 1, 3});
    f.set_quiet(s);
    f.step(kNoop);
    EXPECT_EQ(f.game.state().divers_carried, 3);
    EXPECT_TRUE(f.game.state().divers.empty());
    EXPECT_EQ(f.count(8), 3);
    for (int c = 6; c <= 8; ++c) EXPECT_TRUE(f.at(8, 9, c));
  }
  {
    Fixture f;
    State s = base;
    s.divers_carried = 6;
    s.divers.push_back({2, 5, 1, 0});  // not collected: moves on
    f.set_quiet(s);
    f.step(kNoop);
    EXPECT_EQ(f.game.state().divers_carried, 6);
    ASSERT_EQ(f.game.state().divers.size(), 1);
    EXPECT_EQ(f.game.state().divers[0].col, 6);
    EXPECT_EQ(f.game.state().divers[0].move_countdown, 5);
    EXPECT_EQ(f.count(8), 6);
    EXPECT_TRUE(f.at(9, 2, 6));
    EXPECT_TRUE(f.at(3, 2, 5));  // trail behind a right-heading diver
  }
  {
    Fixture f;
    State s = base;
    s.divers.push_back({2, 6, -1, 0});  // moves onto the front cell and is collected
    f.set_quiet(s);
    f.step(kNoop);
    EXPECT_EQ(f.game.state().divers_carried, 1);
  }
}

// Testable properties 4-7 checked along random play.
TEST(SeaquestTest, InvariantsUnderRandomPlay) {
  EnvOptions o = game_options(kId, 0.1);
  Fixture f(o);
  f.game.seed(3);
  f.game.reset(f.obs.data());
  Rng policy(17);
  int episodes = 0;
  for (int t = 0; t < 20000; ++t) {
    const int bullets_before = f.game.state().friendly_bullets.size();
    const int divers_before = f.game.state().divers_carried;
    const StepOutcome out = f.step(policy.uniform_int(0, 5));
    const State& s = f.game.state();
    ASSERT_GE(s.row, 0);
    ASSERT_LE(s.row, 8);
    ASSERT_TRUE(s.facing == 1 || s.facing == -1);
    ASSERT_GE(s.col - s.facing, 0);
    ASSERT_LE(s.col - s.facing, 9);
    ASSERT_LE(s.friendly_bullets.size(), 2);
    ASSERT_LE(s.divers_carried, 6);
    const bool full_load = divers_before == 6 && s.divers_carried == -1;
    if (!full_load) { ASSERT_LE(out.reward, static_cast<float>(bullets_before + 1)); }
    int heading[10] = {};
    auto check_row = [&](int row, int dir) {
      ASSERT_GE(row, 1);
      ASSERT_LE(row, 8);
      if (heading[row] != 0) { ASSERT_EQ(heading[row], dir) << "mixed headings in row " << row; }
      heading[row] = dir;
    };
    for (const auto& e : s.fish) check_row(e.row, e.dir);
    for (const auto& e : s.subs) check_row(e.row, e.dir);
    for (const auto& d : s.divers) {
      ASSERT_GE(d.row, 1);
      ASSERT_LE(d.row, 8);
    }
    for (const auto& b : s.enemy_bullets) ASSERT_LE(b.row, 8);
    // Row 9 shows only the gauges; the oxygen gauge is a prefix.
    for (int ch = 0; ch < kChannels; ++ch) {
      if (ch == 7 || ch == 8) continue;
      for (int c = 0; c < 10; ++c) ASSERT_FALSE(f.at(ch, 9, c));
    }
    const int n = std::max(s.oxygen, 0) / 20;
    for (int c = 0; c < 10; ++c) ASSERT_EQ(f.at(7, 9, c), c < n);
    if (out.terminated) {
      ++episodes;
      f.game.reset(f.obs.data());
    }
  }
  EXPECT_GT(episodes, 100);
}

// Section 8: uniformly random policy over all 6 actions, sticky 0.1, ramping on. Reference:
// mean return 0.101 (sd 0.391, s.e. 0.007), mean length 30.4 (sd 36.8, s.e. 0.67), min
// length 2, max return 4, 0.33 % of steps rewarded. Tolerance: 4 standard errors of the
// difference between our estimate and the reference's (for the rewarded fraction, binomial
// standard errors over steps).
TEST(SeaquestStatistics, RandomPolicyMatchesReference) {
  const auto s = minatar_test::random_policy_stats("minatar/seaquest", 10000, 7);
  EXPECT_FALSE(s.any_truncated);
  minatar_test::expect_mean_matches("mean return", s.mean_return, s.se_return, 0.101, 0.007);
  minatar_test::expect_mean_matches("mean length", s.mean_length, s.se_length, 30.4, 0.67);
  minatar_test::expect_rewarded_fraction_matches(s, 0.0033, 30.4);
  EXPECT_GE(s.min_length, 2);
}

}  // namespace
}  // namespace imagine::envs::minatar
