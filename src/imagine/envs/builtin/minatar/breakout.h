#pragma once
// MinAtar Breakout (minatar-rules.md section 2), quirks included: the ball can start or
// rest inside a brick, a struck ball passes through bricks until a target cell is empty,
// and bricks are refilled only on a step whose target row is 9.
#include <array>
#include <cstdint>

#include "imagine/envs/builtin/minatar/minatar_game.h"

namespace imagine::envs::minatar {

class Breakout : public MinAtarGame {
 public:
  struct State {
    int paddle = 4;  // column of the paddle in row 9
    int ball_row = 3, ball_col = 0;
    int vr = 1, vc = 1;  // ball direction, each +-1
    int trail_row = 3, trail_col = 0;  // previous ball cell
    std::array<uint8_t, kGrid * kGrid> bricks{};  // row-major, 1 = brick
    int brick_count = 0;  // must equal the number of ones in `bricks`
    bool strike = false;
  };

  explicit Breakout(const EnvOptions& options);

  // Test hook: the whole game state. Edit only between steps, keeping brick_count in sync.
  State& state() { return s_; }
  const State& state() const { return s_; }

 protected:
  void reset_game() override;
  StepOutcome step_game(int64_t action) override;
  void write_planes(uint8_t* obs) const override;

 private:
  void fill_bricks();
  State s_;
};

}  // namespace imagine::envs::minatar
