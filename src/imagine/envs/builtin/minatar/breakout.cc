#include "imagine/envs/builtin/minatar/breakout.h"

#include <algorithm>
#include <cstring>

namespace imagine::envs::minatar {

namespace {
GameInfo breakout_info() {
  GameInfo info;
  info.name = "breakout";
  info.channels = {"paddle", "ball", "trail", "brick"};
  info.minimal_actions = {0, 1, 3};
  info.palette = {Colour{66, 158, 245}, Colour{255, 255, 255}, Colour{120, 120, 120}, Colour{230, 90, 60}};
  return info;
}
}  // namespace

Breakout::Breakout(const EnvOptions& options) : MinAtarGame(breakout_info(), options) {}

void Breakout::fill_bricks() {
  s_.bricks.fill(0);
  for (int r = 1; r <= 3; ++r)
    for (int c = 0; c < kGrid; ++c) s_.bricks[r * kGrid + c] = 1;
  s_.brick_count = 3 * kGrid;
}

void Breakout::reset_game() {
  s_.paddle = 4;
  fill_bricks();
  s_.ball_row = 3;
  if (rng_.uniform_int(0, 1) == 0) {
    s_.ball_col = 0;
    s_.vr = 1;
    s_.vc = 1;
  } else {
    s_.ball_col = 9;
    s_.vr = 1;
    s_.vc = -1;
  }
  s_.trail_row = s_.ball_row;
  s_.trail_col = s_.ball_col;
  s_.strike = false;
}

StepOutcome Breakout::step_game(int64_t action) {
  StepOutcome out;
  if (action == 1) s_.paddle = std::max(0, s_.paddle - 1);
  else if (action == 3) s_.paddle = std::min(9, s_.paddle + 1);

  const int r0 = s_.ball_row, c0 = s_.ball_col;
  s_.trail_row = r0;
  s_.trail_col = c0;
  int tr = r0 + s_.vr, tc = c0 + s_.vc;
  if (tc < 0 || tc >= kGrid) {
    tc = c0;
    s_.vc = -s_.vc;
  }
  bool touched_brick = false;
  if (tr < 0) {
    tr = 0;
    s_.vr = -s_.vr;
  } else if (s_.bricks[tr * kGrid + tc]) {
    touched_brick = true;
    // A struck ball enters further bricks without breaking them (pass-through quirk).
    if (!s_.strike) {
      out.reward = 1.0f;
      s_.strike = true;
      s_.bricks[tr * kGrid + tc] = 0;
      --s_.brick_count;
      tr = r0;
      s_.vr = -s_.vr;
    }
  } else if (tr == kGrid - 1) {
    // Refill only here, even if this step ends the game (refill-time quirk).
    if (s_.brick_count == 0) fill_bricks();
    if (c0 == s_.paddle) {
      s_.vr = -s_.vr;
      tr = r0;
    } else if (tc == s_.paddle) {
      s_.vr = -s_.vr;
      s_.vc = -s_.vc;
      tr = r0;
    } else {
      out.terminated = true;
    }
  }
  if (!touched_brick) s_.strike = false;
  s_.ball_row = tr;
  s_.ball_col = tc;
  return out;
}

void Breakout::write_planes(uint8_t* obs) const {
  set(obs, 0, kGrid - 1, s_.paddle);
  set(obs, 1, s_.ball_row, s_.ball_col);
  set(obs, 2, s_.trail_row, s_.trail_col);
  if (s_.brick_count > 0) std::memcpy(obs + 3 * kGrid * kGrid, s_.bricks.data(), s_.bricks.size());
}

}  // namespace imagine::envs::minatar
