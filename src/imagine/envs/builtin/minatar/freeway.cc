#include "imagine/envs/builtin/minatar/freeway.h"

#include <algorithm>

namespace imagine::envs::minatar {

namespace {
GameInfo freeway_info() {
  GameInfo info;
  info.name = "freeway";
  info.channels = {"chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5"};
  info.minimal_actions = {0, 2, 4};
  info.palette = {Colour{250, 230, 60},  Colour{230, 60, 60},   Colour{40, 60, 120},  Colour{50, 90, 160},
                  Colour{60, 130, 200}, Colour{70, 170, 230}, Colour{90, 210, 250}};
  return info;
}

int wrap(int col) { return col < 0 ? col + kGrid : (col >= kGrid ? col - kGrid : col); }
}  // namespace

Freeway::Freeway(const EnvOptions& options) : MinAtarGame(freeway_info(), options) {}

void Freeway::randomise_cars() {
  // All eight periods are drawn first, then all eight headings (rule 4.2); columns stay.
  for (Car& car : s_.cars) {
    car.period = static_cast<int>(rng_.uniform_int(1, 5));
    car.countdown = car.period;
  }
  for (Car& car : s_.cars) car.heading = rng_.uniform() > 0.5 ? 1 : -1;
}

void Freeway::reset_game() {
  for (Car& car : s_.cars) car.col = 0;
  randomise_cars();
  s_.chicken_row = 9;
  s_.cooldown = 3;
  s_.time_countdown = kTimeLimit;
}

StepOutcome Freeway::step_game(int64_t action) {
  StepOutcome out;
  if (s_.cooldown == 0) {
    if (action == 2) {
      s_.cooldown = 3;
      s_.chicken_row = std::max(0, s_.chicken_row - 1);
    } else if (action == 4) {
      s_.cooldown = 3;  // spent even when already in row 9
      s_.chicken_row = std::min(9, s_.chicken_row + 1);
    }
  }
  if (s_.chicken_row == 0) {
    out.reward = 1.0f;
    randomise_cars();
    s_.chicken_row = 9;
  }
  for (int i = 0; i < 8; ++i) {
    Car& car = s_.cars[i];
    const int row = i + 1;
    if (car.col == kChickenCol && row == s_.chicken_row) s_.chicken_row = 9;
    if (car.countdown == 0) {
      car.countdown = car.period;
      car.col = wrap(car.col + car.heading);
      if (car.col == kChickenCol && row == s_.chicken_row) s_.chicken_row = 9;
    } else {
      --car.countdown;
    }
  }
  if (s_.cooldown > 0) --s_.cooldown;
  if (--s_.time_countdown < 0) out.truncated = true;
  return out;
}

void Freeway::write_planes(uint8_t* obs) const {
  set(obs, 0, s_.chicken_row, kChickenCol);
  for (int i = 0; i < 8; ++i) {
    const Car& car = s_.cars[i];
    set(obs, 1, i + 1, car.col);
    set(obs, 1 + car.period, i + 1, wrap(car.col - car.heading));
  }
}

}  // namespace imagine::envs::minatar
