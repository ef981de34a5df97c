#pragma once
// MinAtar Freeway (minatar-rules.md section 4). The 2,501-step time limit is reported as
// `truncated` (specs/environments.md), where MinAtar itself reports a termination.
// A car's heading draw u gives "right" iff u > 1/2, so the measure-zero u = 1/2 case
// (rules section 7) gives "left".
#include <array>
#include <cstdint>

#include "imagine/envs/builtin/minatar/minatar_game.h"

namespace imagine::envs::minatar {

class Freeway : public MinAtarGame {
 public:
  static constexpr int kChickenCol = 4;
  static constexpr int kTimeLimit = 2500;  // time countdown at reset; the episode lasts 2,501 steps

  struct Car {
    int col = 0;
    int period = 1;   // 1..5: moves once every period + 1 steps
    int heading = 1;  // +1 right, -1 left
    int countdown = 1;
  };
  struct State {
    int chicken_row = 9;
    int cooldown = 3;
    std::array<Car, 8> cars{};  // cars[i] is in row i + 1
    int time_countdown = kTimeLimit;
  };

  explicit Freeway(const EnvOptions& options);

  // Test hook: the whole game state; edit only between steps.
  State& state() { return s_; }
  const State& state() const { return s_; }

 protected:
  void reset_game() override;
  StepOutcome step_game(int64_t action) override;
  void write_planes(uint8_t* obs) const override;

 private:
  void randomise_cars();
  State s_;
};

}  // namespace imagine::envs::minatar
