// MinAtar Asterix: conformance, the rules of minatar-rules.md section 3 (timing, contact,
// spawning, the ramp schedule, testable properties) and the section 8 statistics.
#include "imagine/envs/builtin/minatar/asterix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "imagine/core/rng.h"
#include "tests/envs/minatar_test_util.h"
#include "tests/testing/env_conformance.h"

namespace imagine::envs::minatar {
namespace {

constexpr int kChannels = 4;
using minatar_test::Obs;
constexpr const char* kId = "minatar/asterix";
using minatar_test::game_options;
using minatar_test::at;
using minatar_test::count_plane;

int count_entities(const Asterix::State& s) {
  int n = 0;
  for (const auto& e : s.lanes) n += e.present;
  return n;
}

void clear_lanes(Asterix::State& s) {
  for (auto& e : s.lanes) e = Asterix::Entity{};
}

Asterix::Entity entity(int col, int heading, bool gold) {
  Asterix::Entity e;
  e.present = true;
  e.col = col;
  e.heading = heading;
  e.gold = gold;
  return e;
}

TEST(AsterixConformance, Symbolic) { testing::check_env_conformance(game_options(kId, -1)); }

TEST(AsterixConformance, Rgb) {
  EnvOptions o = game_options(kId, -1);
  o.obs = envs::Observation::kRgb;
  testing::check_env_conformance(o, {1000, true});
}

TEST(AsterixConformance, MinimalActions) {
  EnvOptions o = game_options(kId, -1);
  o.minimal_actions = true;
  testing::check_env_conformance(o);
  EnvPtr env = default_registry().make(o);
  EXPECT_EQ(env->spec().action_meanings, (std::vector<std::string>{"noop", "left", "up", "right", "down"}));
}

TEST(AsterixTest, ResetShowsOnlyThePlayer) {
  Asterix game(game_options(kId));
  Obs obs(kChannels * 100);
  game.seed(1);
  game.reset(obs.data());
  EXPECT_EQ(at(obs, 0, 5, 5), 1);
  EXPECT_EQ(count_plane(obs, 0), 1);
  for (int c = 1; c < kChannels; ++c) EXPECT_EQ(count_plane(obs, c), 0);
  const Asterix::State& s = game.state();
  EXPECT_EQ(s.spawn_interval, 10);
  EXPECT_EQ(s.move_interval, 5);
  EXPECT_EQ(game.difficulty(), 0);
}

TEST(AsterixTest, FirstEntityAppearsAtStep11AlreadyMoved) {
  int right = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Asterix game(game_options(kId));
    Obs obs(kChannels * 100);
    game.seed(seed);
    game.reset(obs.data());
    for (int step = 1; step <= 10; ++step) {
      ASSERT_FALSE(game.step(0, obs.data()).terminated);
      ASSERT_EQ(count_plane(obs, 1) + count_plane(obs, 3) + count_plane(obs, 2), 0) << "step " << step;
    }
    game.step(0, obs.data());
    ASSERT_EQ(count_entities(game.state()), 1);
    ASSERT_EQ(count_plane(obs, 1) + count_plane(obs, 3), 1);
    for (int r = 1; r <= 8; ++r) {
      const Asterix::Entity& e = game.state().lanes[static_cast<size_t>(r - 1)];
      if (!e.present) continue;
      // Spawned at column 0 or 9 and moved once in the same step (step 11 is a motion step).
      EXPECT_EQ(e.col, e.heading > 0 ? 1 : 8);
      EXPECT_EQ(at(obs, e.gold ? 3 : 1, r, e.col), 1);
      EXPECT_EQ(at(obs, 2, r, e.heading > 0 ? 0 : 9), 1) << "trail behind the entity";
      right += e.heading > 0;
    }
  }
  EXPECT_GT(right, 5);
  EXPECT_LT(right, 35);
}

TEST(AsterixTest, EntitiesMoveEveryFiveStepsFromStep6) {
  Asterix game(game_options(kId, 0.0, false));
  Obs obs(kChannels * 100);
  game.seed(2);
  game.reset(obs.data());
  game.state().lanes[1] = entity(2, 1, false);  // an enemy in row 2, away from the player
  int expected = 2;
  for (int step = 1; step <= 45; ++step) {
    ASSERT_FALSE(game.step(0, obs.data()).terminated);
    if (step % 5 == 1 && step > 1) ++expected;
    const Asterix::Entity& e = game.state().lanes[1];
    if (expected > 9) {
      EXPECT_FALSE(e.present) << "off-grid empties the lane, step " << step;
      break;
    }
    ASSERT_TRUE(e.present) << "step " << step;
    EXPECT_EQ(e.col, expected) << "step " << step;
    EXPECT_EQ(at(obs, 1, 2, expected), 1);
  }
  EXPECT_EQ(expected, 10);
}

TEST(AsterixTest, ContactBeforeMotionCollectsGoldOrEnds) {
  Obs obs(kChannels * 100);
  {
    Asterix game(game_options(kId));
    game.seed(3);
    game.reset(obs.data());
    game.state().lanes[3] = entity(5, 1, true);  // gold at (4,5)
    const StepOutcome out = game.step(2, obs.data());  // up onto it
    EXPECT_EQ(out.reward, 1.0f);
    EXPECT_FALSE(out.terminated);
    EXPECT_FALSE(game.state().lanes[3].present);
    EXPECT_EQ(at(obs, 0, 4, 5), 1);
    EXPECT_EQ(count_plane(obs, 3), 0);
  }
  {
    Asterix game(game_options(kId));
    game.seed(3);
    game.reset(obs.data());
    game.state().lanes[3] = entity(5, 1, false);  // enemy at (4,5)
    const StepOutcome out = game.step(2, obs.data());
    EXPECT_EQ(out.reward, 0.0f);
    EXPECT_TRUE(out.terminated);
    EXPECT_EQ(at(obs, 0, 4, 5), 1);
    EXPECT_EQ(at(obs, 1, 4, 5), 1) << "the enemy stays on the player's cell";
  }
}

TEST(AsterixTest, EntityMovingOntoThePlayerCollectsGoldOrEnds) {
  Obs obs(kChannels * 100);
  for (bool gold : {true, false}) {
    Asterix game(game_options(kId));
    game.seed(4);
    game.reset(obs.data());
    game.state().lanes[4] = entity(4, 1, gold);  // row 5, left of the player at (5,5)
    game.state().move_countdown = 0;
    const StepOutcome out = game.step(0, obs.data());
    EXPECT_EQ(out.reward, gold ? 1.0f : 0.0f);
    EXPECT_EQ(out.terminated, !gold);
    EXPECT_EQ(game.state().lanes[4].present, !gold);
    EXPECT_EQ(game.state().move_countdown, 4) << "reloaded with 5, then decremented";
  }
}

TEST(AsterixTest, SpawnWithNoFreeLaneCreatesNothingButReloads) {
  Asterix game(game_options(kId));
  Obs obs(kChannels * 100);
  game.seed(5);
  game.reset(obs.data());
  Asterix::State& s = game.state();
  for (auto& e : s.lanes) e = entity(0, 1, false);
  s.spawn_countdown = 0;
  const Asterix::State before = s;
  const StepOutcome out = game.step(0, obs.data());
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(count_entities(s), 8);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(s.lanes[i].col, before.lanes[i].col);
  EXPECT_EQ(s.spawn_countdown, 9);
}

TEST(AsterixTest, RampScheduleFollowsTheTable) {
  // Lanes are emptied after every step so the player survives; the ramp does not depend on them.
  Asterix game(game_options(kId));
  Obs obs(kChannels * 100);
  game.seed(6);
  game.reset(obs.data());
  const int spawn_after[10] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  const int move_after[10] = {5, 5, 4, 4, 3, 3, 2, 2, 1, 1};
  for (int step = 1; step <= 1200; ++step) {
    ASSERT_FALSE(game.step(0, obs.data()).terminated);
    clear_lanes(game.state());
    const int k = std::min(step / 102, 9);
    ASSERT_EQ(game.difficulty(), k) << "step " << step;
    ASSERT_EQ(game.state().spawn_interval, spawn_after[k]) << "step " << step;
    ASSERT_EQ(game.state().move_interval, move_after[k]) << "step " << step;
  }
}

TEST(AsterixTest, WithoutRampingSpawnsEveryTenAndMovesEveryFiveForever) {
  Asterix game(game_options(kId, 0.0, false));
  Obs obs(kChannels * 100);
  game.seed(7);
  game.reset(obs.data());
  for (int step = 1; step <= 1500; ++step) {
    clear_lanes(game.state());
    game.state().lanes[0] = entity(5, 1, false);  // a marker in row 1, reset before every step
    ASSERT_FALSE(game.step(0, obs.data()).terminated);
    const bool spawned = count_entities(game.state()) == 2;
    ASSERT_EQ(spawned, step % 10 == 1 && step > 1) << "step " << step;
    ASSERT_EQ(game.state().lanes[0].col, step % 5 == 1 && step > 1 ? 6 : 5) << "step " << step;
  }
  EXPECT_EQ(game.difficulty(), 0);
  EXPECT_EQ(game.state().spawn_interval, 10);
  EXPECT_EQ(game.state().move_interval, 5);
}

TEST(AsterixTest, FireActsAsNoopAndThePlayerIsClamped) {
  Rng policy(8);
  std::vector<int64_t> actions(300);
  for (auto& a : actions) a = policy.uniform_int(0, 4);
  auto run = [&](bool fire_for_noop) {
    Asterix game(game_options(kId));
    game.seed(9);
    Obs obs(kChannels * 100), all;
    game.reset(obs.data());
    for (int64_t a : actions) {
      const StepOutcome out = game.step(fire_for_noop && a == 0 ? 5 : a, obs.data());
      all.insert(all.end(), obs.begin(), obs.end());
      all.push_back(static_cast<uint8_t>(out.reward));
      if (out.terminated) game.reset(obs.data());
    }
    return all;
  };
  EXPECT_EQ(run(true), run(false));

  Asterix game(game_options(kId));
  Obs obs(kChannels * 100);
  game.seed(10);
  game.reset(obs.data());
  for (int i = 0; i < 6; ++i) game.step(2, obs.data());
  EXPECT_EQ(game.state().player_row, 1);
  for (int i = 0; i < 9; ++i) {
    clear_lanes(game.state());
    game.step(4, obs.data());
  }
  EXPECT_EQ(game.state().player_row, 8);
}

TEST(AsterixTest, RandomPlayKeepsTheTestableProperties) {
  EnvPtr env = default_registry().make(game_options(kId, 0.1));
  Rng policy(11);
  Obs prev(kChannels * 100), obs(kChannels * 100);
  env->seed(12);
  env->reset(prev.data());
  int episodes = 0;
  for (int step = 0; step < 20000; ++step) {
    const StepOutcome out = env->step(policy.uniform_int(0, 5), obs.data());
    ASSERT_TRUE(out.reward == 0.0f || out.reward == 1.0f);
    ASSERT_EQ(count_plane(obs, 0), 1);
    int pr = -1, pc = -1, qr = -1, qc = -1;
    for (int i = 0; i < 100; ++i) {
      if (obs[static_cast<size_t>(i)]) pr = i / 10, pc = i % 10;
      if (prev[static_cast<size_t>(i)]) qr = i / 10, qc = i % 10;
    }
    ASSERT_GE(pr, 1);
    ASSERT_LE(pr, 8);
    ASSERT_LE(std::abs(pr - qr) + std::abs(pc - qc), 1) << "one cell along one axis";
    for (int c : {1, 2, 3}) {
      for (int col = 0; col < 10; ++col) {
        ASSERT_EQ(at(obs, c, 0, col), 0);
        ASSERT_EQ(at(obs, c, 9, col), 0);
      }
    }
    for (int r = 1; r <= 8; ++r) {
      int entities = 0, trails = 0;
      for (int col = 0; col < 10; ++col) {
        entities += at(obs, 1, r, col) + at(obs, 3, r, col);
        trails += at(obs, 2, r, col);
        if (at(obs, 2, r, col)) {
          const bool left = col > 0 && (at(obs, 1, r, col - 1) || at(obs, 3, r, col - 1));
          const bool right = col < 9 && (at(obs, 1, r, col + 1) || at(obs, 3, r, col + 1));
          ASSERT_TRUE(left || right) << "trail next to an entity";
        }
      }
      ASSERT_LE(entities, 1) << "at most one entity per row";
      ASSERT_LE(trails, entities);
    }
    ASSERT_EQ(at(obs, 3, pr, pc), 0) << "gold never shares the player's cell";
    if (!out.terminated) {
      ASSERT_EQ(at(obs, 1, pr, pc), 0);
    }
    if (out.terminated || out.truncated) {
      ++episodes;
      env->reset(obs.data());
    }
    prev = obs;
  }
  EXPECT_GT(episodes, 100);
}

TEST(AsterixTest, SpawnsAreOneThirdGoldAndHalfRightHeading) {
  // Ramping off, lanes emptied after each step: every spawn attempt at steps 11, 21, ...
  // creates exactly one entity, seen right after its step.
  Asterix game(game_options(kId, 0.0, false));
  Obs obs(kChannels * 100);
  game.seed(13);
  game.reset(obs.data());
  int spawns = 0, gold = 0, right = 0;
  std::vector<int> rows(9, 0);
  for (int step = 1; step <= 30000; ++step) {
    game.step(0, nullptr);
    for (int r = 1; r <= 8; ++r) {
      const Asterix::Entity& e = game.state().lanes[static_cast<size_t>(r - 1)];
      if (!e.present) continue;
      ++spawns;
      gold += e.gold;
      right += e.heading > 0;
      ++rows[static_cast<size_t>(r)];
    }
    clear_lanes(game.state());
  }
  ASSERT_EQ(spawns, 2999);
  // Four binomial standard errors.
  const double n = spawns;
  EXPECT_NEAR(gold / n, 1.0 / 3.0, 4 * std::sqrt(2.0 / 9.0 / n));
  EXPECT_NEAR(right / n, 0.5, 4 * std::sqrt(0.25 / n));
  for (int r = 1; r <= 8; ++r) EXPECT_NEAR(rows[static_cast<size_t>(r)] / n, 0.125, 4 * std::sqrt(0.125 * 0.875 / n));
}

TEST(AsterixStatistics, RandomPolicyMatchesReference) {
  // Section 8: mean return 0.518 (s.e. 0.016), mean length 69.7 (s.e. 0.80), min length 11.
  const auto s = minatar_test::random_policy_stats("minatar/asterix", 6000, 1);
  minatar_test::expect_mean_matches("mean return", s.mean_return, s.se_return, 0.518, 0.016);
  minatar_test::expect_mean_matches("mean length", s.mean_length, s.se_length, 69.7, 0.80);
  EXPECT_NEAR(s.std_return, 0.869, 0.08);
  EXPECT_NEAR(s.std_length, 43.9, 3.0);
  EXPECT_GE(s.min_length, 11);
  EXPECT_FALSE(s.any_truncated);
}

}  // namespace
}  // namespace imagine::envs::minatar
