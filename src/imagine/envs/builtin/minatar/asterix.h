#pragma once
// MinAtar Asterix (minatar-rules.md section 3): eight lanes (rows 1-8) each holding at most
// one gold or enemy; contact is tested before and after the entities move.
#include <array>
#include <cstdint>

#include "imagine/envs/builtin/minatar/minatar_game.h"

namespace imagine::envs::minatar {

class Asterix : public MinAtarGame {
 public:
  struct Entity {
    bool present = false;
    int col = 0;
    int heading = 1;  // +1 right, -1 left
    bool gold = false;
  };
  struct State {
    int player_row = 5, player_col = 5;
    std::array<Entity, 8> lanes{};  // lanes[i] is row i + 1
    int spawn_interval = 10, spawn_countdown = 10;
    int move_interval = 5, move_countdown = 5;
    int ramp_countdown = 100, ramp_index = 0;
  };

  explicit Asterix(const EnvOptions& options);

  // Test hook: the whole game state; edit only between steps.
  State& state() { return s_; }
  const State& state() const { return s_; }
  // Difficulty index 0..9 (rules 1.9).
  int difficulty() const { return s_.ramp_index; }

 protected:
  void reset_game() override;
  StepOutcome step_game(int64_t action) override;
  void write_planes(uint8_t* obs) const override;

 private:
  void spawn();
  State s_;
};

}  // namespace imagine::envs::minatar
