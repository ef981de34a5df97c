#pragma once
// MiniPacman, the maze game of the I2A paper (specs/environments.md, "MiniPacman"): five
// modes that share the dynamics and differ in rewards and in what ends a level.
// Observation: 6 x 15 x 19 uint8 planes (walls, food, player, ghost, edible ghost, pill),
// obs_scale 1/255; ghost planes hold round(255 * (1 - power/20)) and round(255 * power/20).
#include <array>
#include <cstdint>
#include <vector>

#include "imagine/core/rng.h"
#include "imagine/envs/env_options.h"
#include "imagine/envs/grid_game.h"

namespace imagine::envs::minipacman {

inline constexpr int kRows = 15;
inline constexpr int kCols = 19;
inline constexpr int kCells = kRows * kCols;
inline constexpr int kChannels = 6;
inline constexpr int kNumActions = 5;  // stay, right, up, left, down
inline constexpr int kPowerSteps = 20;
inline constexpr int kNumPills = 2;
inline constexpr int64_t kDefaultFrameCap = 3000;

enum class Mode { kRegular, kAvoid, kHunt, kAmbush, kRush };

// One row of the spec's mode table.
struct ModeRules {
  const char* name;
  float step_reward, food_reward, pill_reward, ghost_reward, death_reward;
  bool ends_on_food, ends_on_ghosts, ends_on_pills;
  int level_timer;  // steps after which a level ends; 0 = no timer
};

const ModeRules& mode_rules(Mode mode);
inline constexpr std::array<Mode, 5> kAllModes = {Mode::kRegular, Mode::kAvoid, Mode::kHunt, Mode::kAmbush,
                                                  Mode::kRush};

bool is_wall(int row, int col);
// Number of corridor cells (= food at a level start).
int corridor_count();

// Directions: 0 right, 1 up, 2 left, 3 down (action a in 1..4 moves in direction a - 1).
struct Ghost {
  int row = 0, col = 0, dir = 0;
};
struct Cell {
  int row = 0, col = 0;
};

class MiniPacman : public GridGame {
 public:
  MiniPacman(Mode mode, const EnvOptions& options);
  const EnvSpec& spec() const override { return spec_; }
  void seed(uint64_t seed) override { rng_.reseed(seed); }
  void reset(uint8_t* obs) override;
  StepOutcome step(int64_t action, uint8_t* obs) override;
  void cell_colours(uint8_t* rgb) const override;

  // State, read by rule tests.
  Mode mode() const { return mode_; }
  Cell player() const { return {player_ / kCols, player_ % kCols}; }
  std::vector<Ghost> ghosts() const;
  std::vector<Cell> pills() const;
  bool food_at(int row, int col) const { return base_planes_[kCells + row * kCols + col] != 0; }
  int food_left() const { return food_left_; }
  int power() const { return power_; }
  int level() const { return level_; }
  int level_steps() const { return level_steps_; }
  int64_t frames() const { return frames_; }
  double ghost_speed() const { return speed_; }
  int64_t last_executed_action() const { return last_action_; }

  // Test hooks: put the game in a chosen state (after reset) so that rule tests need no
  // luck. Positions must be corridor cells. The observation is not rewritten.
  void start_level_for_test(int level) { start_level(level); }  // draws from the rng
  void set_player(int row, int col);
  void set_ghosts(const std::vector<Ghost>& ghosts);
  void set_pills(const std::vector<Cell>& pills);  // at most 2, distinct
  void set_food(int row, int col, bool present);
  void clear_food();
  void set_power(int power);
  void write_obs(uint8_t* obs) const;

 private:
  struct GhostState {
    int pos, dir;
  };
  void start_level(int level);
  void move_ghost(GhostState& ghost);
  int checked_cell(int row, int col) const;

  Mode mode_;
  ModeRules rules_;
  EnvSpec spec_;
  Rng rng_;
  double sticky_prob_;
  int64_t last_action_ = 0;
  bool terminal_ = false;

  // Cells are indexed row * kCols + col; the border is wall, so neighbours need no bounds check.
  // Observation planes 0 (walls, fixed) and 1 (food, part of the state), ready to copy.
  std::array<uint8_t, 2 * kCells> base_planes_{};
  uint8_t& food(int cell) { return base_planes_[kCells + cell]; }
  int food_left_ = 0;
  std::array<int, kNumPills> pills_{};
  int num_pills_ = 0;
  int player_ = 0;
  // Reserved once (see the constructor) and only cleared, so stepping does not allocate.
  std::vector<GhostState> ghosts_;
  int power_ = 0;
  int level_ = 1;
  int level_steps_ = 0;
  int64_t frames_ = 0;
  double speed_ = 0.5;
};

}  // namespace imagine::envs::minipacman
