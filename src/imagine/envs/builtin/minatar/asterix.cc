#include "imagine/envs/builtin/minatar/asterix.h"

#include <algorithm>

namespace imagine::envs::minatar {

namespace {
GameInfo asterix_info() {
  GameInfo info;
  info.name = "asterix";
  info.channels = {"player", "enemy", "trail", "gold"};
  info.minimal_actions = {0, 1, 2, 3, 4};
  info.palette = {Colour{66, 158, 245}, Colour{230, 60, 60}, Colour{120, 120, 120}, Colour{250, 210, 40}};
  return info;
}
}  // namespace

Asterix::Asterix(const EnvOptions& options) : MinAtarGame(asterix_info(), options) {}

void Asterix::reset_game() { s_ = State{}; }

void Asterix::spawn() {
  // Both draws happen even when no lane is free (rule 3.4).
  const bool right = rng_.uniform() < 0.5;
  const bool gold = rng_.uniform() < 1.0 / 3.0;
  std::array<int, 8> empty;
  int n = 0;
  for (int i = 0; i < 8; ++i)
    if (!s_.lanes[i].present) empty[n++] = i;
  if (n == 0) return;
  Entity& e = s_.lanes[empty[rng_.uniform_int(0, n - 1)]];
  e.present = true;
  e.heading = right ? 1 : -1;
  e.col = right ? 0 : kGrid - 1;
  e.gold = gold;
}

StepOutcome Asterix::step_game(int64_t action) {
  StepOutcome out;
  if (s_.spawn_countdown == 0) {
    spawn();
    s_.spawn_countdown = s_.spawn_interval;
  }
  switch (action) {
    case 1: s_.player_col = std::max(0, s_.player_col - 1); break;
    case 2: s_.player_row = std::max(1, s_.player_row - 1); break;
    case 3: s_.player_col = std::min(9, s_.player_col + 1); break;
    case 4: s_.player_row = std::min(8, s_.player_row + 1); break;
    default: break;
  }
  // Only the player's own lane can touch it; gold is collected, an enemy stays put.
  auto contact = [&](Entity& e) {
    if (e.gold) {
      e.present = false;
      out.reward += 1.0f;
    } else {
      out.terminated = true;
    }
  };
  Entity& own = s_.lanes[s_.player_row - 1];
  if (own.present && own.col == s_.player_col) contact(own);
  if (s_.move_countdown == 0) {
    s_.move_countdown = s_.move_interval;
    for (int i = 0; i < 8; ++i) {
      Entity& e = s_.lanes[i];
      if (!e.present) continue;
      e.col += e.heading;
      if (e.col < 0 || e.col >= kGrid) e.present = false;
      else if (i + 1 == s_.player_row && e.col == s_.player_col) contact(e);
    }
  }
  --s_.spawn_countdown;
  --s_.move_countdown;
  if (ramping_ && (s_.spawn_interval > 1 || s_.move_interval > 1)) {
    if (s_.ramp_countdown >= 0) {
      --s_.ramp_countdown;
    } else {
      if (s_.move_interval > 1 && s_.ramp_index % 2 == 1) --s_.move_interval;
      if (s_.spawn_interval > 1) --s_.spawn_interval;
      ++s_.ramp_index;
      s_.ramp_countdown = 100;
    }
  }
  return out;
}

void Asterix::write_planes(uint8_t* obs) const {
  set(obs, 0, s_.player_row, s_.player_col);
  for (int i = 0; i < 8; ++i) {
    const Entity& e = s_.lanes[i];
    if (!e.present) continue;
    set(obs, e.gold ? 3 : 1, i + 1, e.col);
    // The trail shows the heading, even before the entity first moves.
    const int behind = e.col - e.heading;
    if (behind >= 0 && behind < kGrid) set(obs, 2, i + 1, behind);
  }
}

}  // namespace imagine::envs::minatar
