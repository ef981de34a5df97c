#pragma once
// MinAtar Space Invaders (minatar-rules.md section 6). Deterministic given the executed
// actions. Grids are stored as one 10-bit mask per row (bit c = column c).
#include <array>
#include <cstdint>

#include "imagine/envs/builtin/minatar/minatar_game.h"

namespace imagine::envs::minatar {

class SpaceInvaders : public MinAtarGame {
 public:
  using Grid = std::array<uint16_t, 10>;  // row masks, bit c = column c

  static constexpr int kInitialMoveInterval = 12;
  static constexpr int kMinMoveInterval = 6;
  static constexpr int kAlienShotInterval = 10;
  static constexpr int kShotCooldown = 5;

  // The whole game state (section 6.1). Public so that rule tests can set up situations.
  struct State {
    int cannon = 5;  // column; the cannon is in row 9
    Grid aliens{};
    int heading = -1;  // +1 right, -1 left
    Grid friendly_bullets{};
    Grid enemy_bullets{};
    int shot_cooldown = 0;
    int move_interval = kInitialMoveInterval;
    int move_countdown = kInitialMoveInterval;
    int shot_countdown = kAlienShotInterval;
    int ramp_index = 0;
  };

  explicit SpaceInvaders(const EnvOptions& options);

  // Test hooks: read or replace the state between steps (the terminal flag is not part of it).
  const State& state() const { return s_; }
  void set_state(const State& state) { s_ = state; }

  static bool at(const Grid& grid, int row, int col) { return (grid[static_cast<size_t>(row)] >> col) & 1u; }
  static void put(Grid& grid, int row, int col) { grid[static_cast<size_t>(row)] |= static_cast<uint16_t>(1u << col); }
  static int count(const Grid& grid);
  // Rows 0-3 x columns 2-7, the starting wave.
  static Grid full_wave();

 protected:
  void reset_game() override;
  StepOutcome step_game(int64_t action) override;
  void write_planes(uint8_t* obs) const override;

 private:
  State s_;
};

}  // namespace imagine::envs::minatar
