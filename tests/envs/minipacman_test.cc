#include "imagine/envs/builtin/minipacman/minipacman.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "imagine/envs/builtin/builtin.h"
#include "imagine/envs/registry.h"
#include "tests/testing/env_conformance.h"

namespace imagine::envs::minipacman {
namespace {

EnvOptions options_for(Mode mode, Observation obs = Observation::kSymbolic) {
  EnvOptions options;
  options.id = std::string("minipacman/") + mode_rules(mode).name;
  options.obs = obs;
  return options;
}

// A game reset under `seed`, with pills moved to the bottom corners (away from the cells
// the tests use) and no ghosts unless a test places some.
std::unique_ptr<MiniPacman> make_game(Mode mode, uint64_t seed = 1, const EnvOptions& extra = {}) {
  auto game = std::make_unique<MiniPacman>(mode, extra);
  game->seed(seed);
  game->reset(nullptr);
  game->set_pills({{13, 1}, {13, 17}});
  game->set_ghosts({});
  return game;
}

int at(const std::vector<uint8_t>& obs, int channel, int row, int col) {
  return obs[static_cast<size_t>((channel * kRows + row) * kCols + col)];
}

constexpr int kRight = 1, kUp = 2, kLeft = 3, kStay = 0;
constexpr int kDirRight = 0, kDirLeft = 2;

TEST(MiniPacmanConformance, SymbolicAllModes) {
  for (Mode mode : kAllModes) testing::check_env_conformance(options_for(mode));
}

TEST(MiniPacmanConformance, Rgb) {
  testing::ConformanceOptions checks;
  checks.steps = 1000;  // RGB checks are slow in Debug; random episodes last tens of steps
  testing::check_env_conformance(options_for(Mode::kRegular, Observation::kRgb), checks);
}

TEST(MiniPacmanTest, SpecAndRegistry) {
  for (Mode mode : kAllModes) {
    EnvPtr env = default_registry().make(options_for(mode));
    const EnvSpec& spec = env->spec();
    EXPECT_EQ(spec.id, options_for(mode).id);
    EXPECT_EQ(spec.obs_shape(), (std::vector<int64_t>{6, 15, 19}));
    EXPECT_FLOAT_EQ(spec.obs_scale, 1.0f / 255.0f);
    EXPECT_EQ(spec.num_actions, 5);
    EXPECT_EQ(spec.max_episode_steps, 3000);
    EXPECT_EQ(default_registry().entry(spec.id).options,
              (std::vector<std::string>{"obs", "image_size", "sticky_action_prob", "max_episode_steps"}));
  }
  EXPECT_EQ(corridor_count(), 138);
}

TEST(MiniPacmanTest, EatingGhostUnderPowerRewardsAndRemovesIt) {
  for (Mode mode : kAllModes) {
    SCOPED_TRACE(mode_rules(mode).name);
    const ModeRules& rules = mode_rules(mode);
    auto game = make_game(mode);
    game->set_player(3, 5);
    game->set_ghosts({{3, 6, kDirLeft}, {11, 17, kDirLeft}});
    game->set_power(10);
    const StepOutcome out = game->step(kRight, nullptr);
    EXPECT_FALSE(out.terminated);
    EXPECT_FLOAT_EQ(out.reward, rules.step_reward + rules.food_reward + rules.ghost_reward);
    const std::vector<Ghost> left = game->ghosts();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].row, 11);  // the far ghost was not processed after the eat
    EXPECT_EQ(left[0].col, 17);
    EXPECT_EQ(game->power(), 9);
    EXPECT_EQ(game->level(), 1);
  }
}

TEST(MiniPacmanTest, LastGhostEndsLevelOnlyInHuntAndAmbush) {
  for (Mode mode : kAllModes) {
    SCOPED_TRACE(mode_rules(mode).name);
    auto game = make_game(mode);
    game->set_player(3, 5);
    game->set_ghosts({{3, 6, kDirLeft}});
    game->set_power(10);
    game->step(kRight, nullptr);
    if (mode_rules(mode).ends_on_ghosts) {
      EXPECT_EQ(game->level(), 2);
      EXPECT_EQ(game->ghosts().size(), 1u);  // 1 + floor(1 / 2)
      EXPECT_EQ(game->food_left(), corridor_count());
      EXPECT_EQ(game->pills().size(), 2u);
      EXPECT_EQ(game->power(), 0);
      EXPECT_EQ(game->level_steps(), 0);
    } else {
      EXPECT_EQ(game->level(), 1);
      EXPECT_TRUE(game->ghosts().empty());
    }
  }
}

TEST(MiniPacmanTest, LastFoodEndsLevelOnlyInRegularAndAvoid) {
  for (Mode mode : kAllModes) {
    SCOPED_TRACE(mode_rules(mode).name);
    const ModeRules& rules = mode_rules(mode);
    auto game = make_game(mode);
    game->clear_food();
    game->set_food(3, 6, true);
    game->set_player(3, 5);
    const StepOutcome out = game->step(kRight, nullptr);
    EXPECT_FLOAT_EQ(out.reward, rules.step_reward + rules.food_reward);
    if (mode == Mode::kRegular || mode == Mode::kAvoid) {
      EXPECT_EQ(game->level(), 2);
      EXPECT_EQ(game->food_left(), corridor_count());
    } else {
      EXPECT_EQ(game->level(), 1);
      EXPECT_EQ(game->food_left(), 0);
    }
  }
}

TEST(MiniPacmanTest, LastPillEndsLevelOnlyInRush) {
  for (Mode mode : kAllModes) {
    SCOPED_TRACE(mode_rules(mode).name);
    const ModeRules& rules = mode_rules(mode);
    auto game = make_game(mode);
    game->set_pills({{3, 6}});
    game->set_player(3, 5);
    const StepOutcome out = game->step(kRight, nullptr);
    EXPECT_FLOAT_EQ(out.reward, rules.step_reward + rules.food_reward + rules.pill_reward);
    if (mode == Mode::kRush) {
      EXPECT_EQ(game->level(), 2);
      EXPECT_EQ(game->pills().size(), 2u);
      EXPECT_EQ(game->power(), 0);
    } else {
      EXPECT_EQ(game->level(), 1);
      EXPECT_TRUE(game->pills().empty());
      EXPECT_EQ(game->power(), kPowerSteps);
    }
  }
}

TEST(MiniPacmanTest, PillGivesPowerThatCountsDown) {
  auto game = make_game(Mode::kRegular);
  game->set_pills({{3, 6}, {13, 1}});
  game->set_player(3, 5);
  EXPECT_FLOAT_EQ(game->step(kRight, nullptr).reward, 1.0f + 2.0f);
  EXPECT_EQ(game->power(), 20);
  EXPECT_EQ(game->pills().size(), 1u);
  game->step(kStay, nullptr);
  EXPECT_EQ(game->power(), 19);
}

TEST(MiniPacmanTest, AvoidLevelLasts128Steps) {
  auto avoid = make_game(Mode::kAvoid);
  auto regular = make_game(Mode::kRegular);
  for (int i = 1; i <= 127; ++i) {
    avoid->step(kStay, nullptr);
    regular->step(kStay, nullptr);
  }
  EXPECT_EQ(avoid->level(), 1);
  EXPECT_EQ(avoid->level_steps(), 127);
  avoid->step(kStay, nullptr);
  regular->step(kStay, nullptr);
  EXPECT_EQ(avoid->level(), 2);
  EXPECT_EQ(avoid->level_steps(), 0);
  EXPECT_EQ(avoid->frames(), 128);
  EXPECT_EQ(regular->level(), 1);  // no timer in the other modes
  EXPECT_EQ(regular->level_steps(), 128);
}

TEST(MiniPacmanTest, MoveIntoWallLeavesPlayerInPlace) {
  auto game = make_game(Mode::kRegular);
  game->set_player(1, 1);
  game->step(kUp, nullptr);
  EXPECT_EQ(game->player().row, 1);
  EXPECT_EQ(game->player().col, 1);
  game->step(kLeft, nullptr);
  EXPECT_EQ(game->player().row, 1);
  EXPECT_EQ(game->player().col, 1);
  game->step(kRight, nullptr);
  EXPECT_EQ(game->player().row, 1);
  EXPECT_EQ(game->player().col, 2);
}

TEST(MiniPacmanTest, MeetingGhostWithoutPowerKills) {
  for (Mode mode : kAllModes) {
    SCOPED_TRACE(mode_rules(mode).name);
    const ModeRules& rules = mode_rules(mode);
    // The player walks into the ghost.
    auto game = make_game(mode);
    game->set_player(3, 5);
    game->set_ghosts({{3, 6, kDirLeft}});
    StepOutcome out = game->step(kRight, nullptr);
    EXPECT_TRUE(out.terminated);
    EXPECT_FALSE(out.truncated);
    EXPECT_FLOAT_EQ(out.reward, rules.step_reward + rules.food_reward + rules.death_reward);
    // The ghost walks into the player (speed 1 from level 6; two exits: it keeps going left).
    game = make_game(mode);
    game->start_level_for_test(6);
    game->set_pills({{13, 1}, {13, 17}});
    game->set_player(3, 6);
    game->set_ghosts({{3, 7, kDirLeft}});
    out = game->step(kStay, nullptr);
    EXPECT_TRUE(out.terminated);
    EXPECT_FLOAT_EQ(out.reward, rules.step_reward + rules.food_reward + rules.death_reward);
  }
}

TEST(MiniPacmanTest, FrameCapTruncatesAt3000) {
  auto owned = std::make_unique<MiniPacman>(Mode::kHunt, EnvOptions{});
  MiniPacman* game = owned.get();
  EnvPtr env = finish_grid_game(std::move(owned), options_for(Mode::kHunt), kDefaultFrameCap);
  env->seed(3);
  env->reset(nullptr);
  game->set_ghosts({});  // in hunt nothing else can end the episode or the level
  for (int i = 1; i < 3000; ++i) {
    const StepOutcome out = env->step(kStay, nullptr);
    ASSERT_FALSE(out.terminated || out.truncated) << "step " << i;
  }
  const StepOutcome out = env->step(kStay, nullptr);
  EXPECT_TRUE(out.truncated);
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(game->frames(), 3000);
  EXPECT_EQ(game->level(), 1);
}

TEST(MiniPacmanTest, LevelStartPlacesEverythingPerRules) {
  auto game = std::make_unique<MiniPacman>(Mode::kRegular, EnvOptions{});
  bool near_window = false;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    game->seed(seed);
    game->reset(nullptr);
    for (int level = 1; level <= 14; ++level) {
      game->start_level_for_test(level);
      EXPECT_EQ(game->level(), level);
      EXPECT_DOUBLE_EQ(game->ghost_speed(), 0.5 + 0.1 * (level - 1));
      EXPECT_EQ(game->food_left(), corridor_count());
      EXPECT_EQ(game->power(), 0);
      const Cell p = game->player();
      EXPECT_FALSE(is_wall(p.row, p.col));
      const std::vector<Cell> pills = game->pills();
      ASSERT_EQ(pills.size(), 2u);
      EXPECT_FALSE(pills[0].row == pills[1].row && pills[0].col == pills[1].col);
      for (const Cell& pill : pills) EXPECT_FALSE(is_wall(pill.row, pill.col));
      const std::vector<Ghost> ghosts = game->ghosts();
      ASSERT_EQ(ghosts.size(), static_cast<size_t>(1 + (level - 1) / 2));
      for (const Ghost& g : ghosts) {
        EXPECT_FALSE(is_wall(g.row, g.col));
        const bool inside = g.row >= p.row - 5 && g.row <= p.row + 4 && g.col >= p.col - 5 && g.col <= p.col + 4;
        EXPECT_FALSE(inside) << "ghost (" << g.row << ", " << g.col << ") in the window of player (" << p.row
                             << ", " << p.col << ")";
        // Just outside the window: rows pr-6 / pr+5 or columns pc-6 / pc+5.
        if (g.row == p.row - 6 || g.row == p.row + 5 || g.col == p.col - 6 || g.col == p.col + 5) near_window = true;
        EXPECT_GE(g.dir, 0);
        EXPECT_LE(g.dir, 3);
      }
    }
  }
  EXPECT_TRUE(near_window) << "the exclusion window looks larger than specified";
}

TEST(MiniPacmanTest, GhostInCorridorKeepsDirectionAndTurnsCorners) {
  auto game = make_game(Mode::kRegular);
  game->start_level_for_test(6);  // speed 1: the ghost always moves
  game->set_pills({});
  game->set_player(13, 9);
  game->set_ghosts({{3, 2, kDirRight}, {1, 1, kDirLeft}});
  game->step(kStay, nullptr);
  const std::vector<Ghost> ghosts = game->ghosts();
  EXPECT_EQ(ghosts[0].row, 3);  // exits left/right: keeps going right
  EXPECT_EQ(ghosts[0].col, 3);
  EXPECT_EQ(ghosts[1].row, 2);  // exits right/down, reverse of left is right: goes down
  EXPECT_EQ(ghosts[1].col, 1);
  EXPECT_EQ(ghosts[1].dir, 3);
}

TEST(MiniPacmanTest, GhostChasesAtJunctionExceptFivePercentRandom) {
  // Ghost at the 4-way junction (3, 3) heading right; player straight ahead at (3, 9).
  // Reverse (left) is excluded; the chase pick is right; 5 % of the time a uniform pick
  // among right, up, down: P(right) = 0.95 + 0.05 / 3.
  const int trials = 3000;
  int right = 0, up = 0, down = 0, other = 0;
  for (int t = 0; t < trials; ++t) {
    auto game = make_game(Mode::kRegular, 100 + t);
    game->start_level_for_test(6);
    game->set_pills({});
    game->set_player(3, 9);
    game->set_ghosts({{3, 3, kDirRight}});
    game->step(kStay, nullptr);
    const Ghost g = game->ghosts()[0];
    if (g.row == 3 && g.col == 4) ++right;
    else if (g.row == 2 && g.col == 3) ++up;
    else if (g.row == 4 && g.col == 3) ++down;
    else ++other;
  }
  EXPECT_EQ(other, 0);
  EXPECT_NEAR(static_cast<double>(right) / trials, 0.95 + 0.05 / 3, 0.015);
  EXPECT_GT(up, 0);
  EXPECT_GT(down, 0);
  EXPECT_NEAR(static_cast<double>(up) / trials, 0.05 / 3, 0.01);
}

TEST(MiniPacmanTest, GhostFleesUnderPower) {
  // Level 16: speed 2, halved under power to 1, so the ghost always moves; fleeing has no
  // random pick, so every seed gives the same move.
  for (int i = 0; i < 20; ++i) {
    auto copy = make_game(Mode::kRegular, 7 + i);
    copy->start_level_for_test(16);
    copy->set_pills({});
    copy->set_player(1, 3);
    copy->set_ghosts({{3, 3, kDirRight}});
    copy->set_power(10);
    copy->step(kStay, nullptr);
    const Ghost g = copy->ghosts()[0];
    EXPECT_EQ(g.row, 4);  // smallest dot product with (-2, 0): down
    EXPECT_EQ(g.col, 3);
  }
}

TEST(MiniPacmanTest, GhostSpeedIsMoveProbabilityHalvedUnderPower) {
  const int trials = 3000;
  for (int power : {0, 10}) {
    int moved = 0;
    for (int t = 0; t < trials; ++t) {
      auto game = make_game(Mode::kRegular, 5000 + t);
      game->set_player(13, 9);
      game->set_ghosts({{3, 2, kDirRight}});  // a corridor: a move is always to (3, 3)
      game->set_power(power);
      game->step(kStay, nullptr);
      moved += game->ghosts()[0].col == 3;
    }
    EXPECT_NEAR(static_cast<double>(moved) / trials, power ? 0.25 : 0.5, 0.03) << "power " << power;
  }
}

TEST(MiniPacmanTest, ObservationPlanes) {
  auto game = make_game(Mode::kRegular);
  game->set_player(3, 5);
  game->set_ghosts({{3, 9, kDirRight}, {7, 1, kDirRight}});
  game->set_pills({{1, 1}});
  game->set_food(3, 6, false);
  std::vector<uint8_t> obs(6 * kCells);
  const int expect[][3] = {{0, 255, 0}, {10, 128, 128}, {15, 64, 191}, {2, 230, 26}, {20, 0, 255}};
  for (const auto& [power, ghost, edible] : expect) {
    game->set_power(power);
    game->write_obs(obs.data());
    for (int r = 0; r < kRows; ++r)
      for (int c = 0; c < kCols; ++c) {
        EXPECT_EQ(at(obs, 0, r, c), is_wall(r, c) ? 255 : 0);
        EXPECT_EQ(at(obs, 1, r, c), game->food_at(r, c) ? 255 : 0);
        EXPECT_EQ(at(obs, 2, r, c), r == 3 && c == 5 ? 255 : 0);
        const bool is_ghost = (r == 3 && c == 9) || (r == 7 && c == 1);
        EXPECT_EQ(at(obs, 3, r, c), is_ghost ? ghost : 0) << "power " << power;
        EXPECT_EQ(at(obs, 4, r, c), is_ghost ? edible : 0) << "power " << power;
        EXPECT_EQ(at(obs, 5, r, c), r == 1 && c == 1 ? 255 : 0);
      }
  }
  EXPECT_EQ(at(obs, 1, 3, 6), 0);
  EXPECT_EQ(at(obs, 1, 3, 7), 255);

  // Through step: power 15 becomes 14: ghost round(255 * 6 / 20) = 77, edible round(178.5) = 179.
  game->set_power(15);
  game->step(kStay, obs.data());
  for (const Ghost& g : game->ghosts()) {
    EXPECT_EQ(at(obs, 3, g.row, g.col), 77);
    EXPECT_EQ(at(obs, 4, g.row, g.col), 179);
  }
  std::vector<uint8_t> direct(obs.size());
  game->write_obs(direct.data());
  EXPECT_EQ(obs, direct);
}

TEST(MiniPacmanTest, CellColoursFollowPriority) {
  auto game = make_game(Mode::kRegular);
  game->set_player(3, 5);
  game->set_ghosts({{3, 5, kDirRight}, {1, 1, kDirRight}});  // one under the player, one on a pill
  game->set_pills({{1, 1}, {3, 7}});
  game->set_food(3, 8, false);
  game->set_power(5);
  std::vector<uint8_t> rgb(kCells * 3);
  game->cell_colours(rgb.data());
  auto colour = [&](int r, int c) {
    const size_t i = static_cast<size_t>((r * kCols + c) * 3);
    return std::vector<int>{rgb[i], rgb[i + 1], rgb[i + 2]};
  };
  EXPECT_EQ(colour(3, 5), (std::vector<int>{0, 255, 0}));    // player over ghost
  EXPECT_EQ(colour(1, 1), (std::vector<int>{255, 64, 0}));   // ghost over pill, 255 * 5 / 20
  EXPECT_EQ(colour(3, 7), (std::vector<int>{0, 255, 255}));  // pill over food
  EXPECT_EQ(colour(3, 6), (std::vector<int>{0, 0, 255}));    // food
  EXPECT_EQ(colour(3, 8), (std::vector<int>{0, 0, 0}));      // eaten corridor
  EXPECT_EQ(colour(0, 0), (std::vector<int>{255, 255, 255}));
}

TEST(MiniPacmanTest, StickyActionsRepeatThePreviousExecutedAction) {
  EnvOptions sticky;
  sticky.sticky_action_prob = 1.0;  // always repeat: the first executed action (0) forever
  auto game = make_game(Mode::kRegular, 1, sticky);
  game->set_player(3, 5);
  for (int i = 0; i < 5; ++i) game->step(kRight, nullptr);
  EXPECT_EQ(game->player().col, 5);
  EXPECT_EQ(game->last_executed_action(), 0);

  // Default (-1) means 0 for MiniPacman: requested actions execute, no extra draws.
  auto plain = make_game(Mode::kRegular, 1);
  EnvOptions zero;
  zero.sticky_action_prob = 0.0;
  auto explicit_zero = make_game(Mode::kRegular, 1, zero);
  for (auto* g : {plain.get(), explicit_zero.get()}) {
    g->set_player(3, 5);
    g->set_ghosts({{11, 17, kDirLeft}});
  }
  for (int i = 0; i < 3; ++i) {
    plain->step(kRight, nullptr);
    explicit_zero->step(kRight, nullptr);
    EXPECT_EQ(plain->last_executed_action(), kRight);
  }
  EXPECT_EQ(plain->player().col, 8);
  EXPECT_EQ(plain->ghosts()[0].col, explicit_zero->ghosts()[0].col);
  EXPECT_EQ(plain->ghosts()[0].row, explicit_zero->ghosts()[0].row);

  // With p = 0.5 and requests alternating right/left, a step repeats a different action
  // when the draw hits and the previous step executed its own request: 1/3 of the steps.
  EnvOptions half;
  half.sticky_action_prob = 0.5;
  auto lagging = make_game(Mode::kRegular, 2, half);
  int repeats = 0;
  for (int i = 0; i < 400; ++i) {
    const int requested = i % 2 ? kLeft : kRight;
    const StepOutcome out = lagging->step(requested, nullptr);
    repeats += lagging->last_executed_action() != requested;
    if (out.terminated) lagging->reset(nullptr);
  }
  EXPECT_GT(repeats, 95);
  EXPECT_LT(repeats, 175);
}

}  // namespace
}  // namespace imagine::envs::minipacman
