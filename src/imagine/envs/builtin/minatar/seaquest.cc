#include "imagine/envs/builtin/minatar/seaquest.h"

#include <algorithm>

namespace imagine::envs::minatar {

namespace {

enum Action : int64_t { kNoop = 0, kLeft = 1, kUp = 2, kRight = 3, kDown = 4, kFire = 5 };
enum Channel : int64_t {
  kSubFront = 0,
  kSubBack = 1,
  kFriendlyBullet = 2,
  kTrail = 3,
  kEnemyBullet = 4,
  kFish = 5,
  kEnemySub = 6,
  kOxygenGauge = 7,
  kDiverGauge = 8,
  kDiver = 9,
};

constexpr int kSize = static_cast<int>(kGrid);
constexpr int kShotCooldown = 5;
constexpr int kEnemyShotInterval = 10;
constexpr int kDiverMoveInterval = 5;

bool off_grid(int col) { return col < 0 || col >= kSize; }

// Index of the oldest item on (row, col), or -1.
template <class List>
int oldest_at(const List& list, int row, int col) {
  for (int i = 0; i < list.size(); ++i)
    if (list[i].row == row && list[i].col == col) return i;
  return -1;
}

GameInfo seaquest_info() {
  GameInfo info;
  info.name = "seaquest";
  info.channels = {"sub_front", "sub_back",     "friendly_bullet", "trail",       "enemy_bullet",
                   "fish",      "enemy_sub",    "oxygen_gauge",    "diver_gauge", "diver"};
  info.minimal_actions = {0, 1, 2, 3, 4, 5};
  // RGB: the highest active channel wins, so divers, subs and fish are drawn over trails and
  // bullets, and the diver gauge over the oxygen gauge where they overlap in row 9.
  info.palette = {{255, 215, 0},   {200, 160, 0},  {255, 255, 255}, {70, 70, 110},  {255, 80, 80},
                  {60, 200, 90},   {220, 50, 220}, {60, 140, 255},  {150, 230, 255}, {255, 140, 0}};
  return info;
}

}  // namespace

Seaquest::Seaquest(const EnvOptions& options) : MinAtarGame(seaquest_info(), options) {}

void Seaquest::reset_game() { s_ = State{}; }

void Seaquest::spawn_enemy() {
  // Draw order (5.4): heading, kind, row; all three are drawn even if the spawn is cancelled.
  const int dir = rng_.uniform() < 0.5 ? 1 : -1;
  const bool is_sub = rng_.uniform() < 1.0 / 3.0;
  const int row = static_cast<int>(rng_.uniform_int(1, 8));
  for (const Mover& f : s_.fish)
    if (f.row == row && f.dir != dir) return;
  for (const EnemySub& e : s_.subs)
    if (e.row == row && e.dir != dir) return;
  const int col = dir > 0 ? 0 : kSize - 1;
  if (is_sub) s_.subs.push_back({row, col, dir, s_.enemy_move_interval, kEnemyShotInterval});
  else s_.fish.push_back({row, col, dir, s_.enemy_move_interval});
}

void Seaquest::spawn_diver() {
  const int dir = rng_.uniform() < 0.5 ? 1 : -1;
  const int row = static_cast<int>(rng_.uniform_int(1, 8));
  s_.divers.push_back({row, dir > 0 ? 0 : kSize - 1, dir, kDiverMoveInterval});
}

void Seaquest::ramp() {
  if (!ramping_ || !(s_.enemy_spawn_interval > 1 || s_.enemy_move_interval > 2)) return;
  if (s_.enemy_move_interval > 2 && s_.ramp_index % 2 == 1) --s_.enemy_move_interval;
  if (s_.enemy_spawn_interval > 1) --s_.enemy_spawn_interval;
  ++s_.ramp_index;
}

StepOutcome Seaquest::step_game(int64_t action) {
  State& s = s_;
  bool terminal = false;
  int reward = 0;

  // Rules 2-3: spawns (countdowns reload even when the enemy spawn is cancelled).
  if (s.enemy_spawn_countdown == 0) {
    spawn_enemy();
    s.enemy_spawn_countdown = s.enemy_spawn_interval;
  }
  if (s.diver_spawn_countdown == 0) {
    spawn_diver();
    s.diver_spawn_countdown = kDiverSpawnInterval;
  }

  // Rule 4: player. Fire during the cooldown does nothing at all.
  switch (action) {
    case kFire:
      if (s.shot_cooldown == 0) {
        s.friendly_bullets.push_back({s.row, s.col, s.facing});
        s.shot_cooldown = kShotCooldown;
      }
      break;
    case kLeft:
      s.col = std::max(0, s.col - 1);
      s.facing = -1;
      break;
    case kRight:
      s.col = std::min(kSize - 1, s.col + 1);
      s.facing = 1;
      break;
    case kUp: s.row = std::max(0, s.row - 1); break;
    case kDown: s.row = std::min(8, s.row + 1); break;
    default: break;
  }

  // Every phase below walks its list newest first; erasing item i only shifts items that
  // were already processed.

  // Rule 5: friendly bullets.
  for (int i = s.friendly_bullets.size() - 1; i >= 0; --i) {
    Bullet& b = s.friendly_bullets[i];
    b.col += b.dir;
    if (off_grid(b.col)) {
      s.friendly_bullets.erase(i);
      continue;
    }
    if (const int f = oldest_at(s.fish, b.row, b.col); f >= 0) {
      s.fish.erase(f);
      s.friendly_bullets.erase(i);
      ++reward;
    } else if (const int e = oldest_at(s.subs, b.row, b.col); e >= 0) {
      s.subs.erase(e);
      s.friendly_bullets.erase(i);
      ++reward;
    }
  }

  // Rule 6: divers.
  for (int i = s.divers.size() - 1; i >= 0; --i) {
    Mover& d = s.divers[i];
    if (on_front(d.row, d.col) && s.divers_carried < kMaxDiversCarried) {
      s.divers.erase(i);
      ++s.divers_carried;
    } else if (d.move_countdown == 0) {
      d.move_countdown = kDiverMoveInterval;
      d.col += d.dir;
      if (off_grid(d.col)) {
        s.divers.erase(i);
      } else if (on_front(d.row, d.col) && s.divers_carried < kMaxDiversCarried) {
        s.divers.erase(i);
        ++s.divers_carried;
      }
    } else {
      --d.move_countdown;
    }
  }

  // Rule 7: enemy subs. A sub removed by its move still runs its shot countdown (quirk).
  for (int i = s.subs.size() - 1; i >= 0; --i) {
    EnemySub e = s.subs[i];
    bool removed = false;
    if (on_front(e.row, e.col)) terminal = true;
    if (e.move_countdown == 0) {
      e.move_countdown = s.enemy_move_interval;
      e.col += e.dir;
      if (off_grid(e.col)) {
        removed = true;
      } else if (on_front(e.row, e.col)) {
        terminal = true;
      } else if (const int b = oldest_at(s.friendly_bullets, e.row, e.col); b >= 0) {
        s.friendly_bullets.erase(b);
        removed = true;
        ++reward;
      }
    } else {
      --e.move_countdown;
    }
    if (e.shot_countdown == 0) {
      e.shot_countdown = kEnemyShotInterval;
      s.enemy_bullets.push_back({e.row, e.col, e.dir});
    } else {
      --e.shot_countdown;
    }
    if (removed) s.subs.erase(i);
    else s.subs[i] = e;
  }

  // Rule 8: enemy bullets, including those fired just now.
  for (int i = s.enemy_bullets.size() - 1; i >= 0; --i) {
    Bullet& b = s.enemy_bullets[i];
    if (on_front(b.row, b.col)) terminal = true;
    b.col += b.dir;
    if (off_grid(b.col)) s.enemy_bullets.erase(i);
    else if (on_front(b.row, b.col)) terminal = true;
  }

  // Rule 9: fish (as subs, without shooting).
  for (int i = s.fish.size() - 1; i >= 0; --i) {
    Mover& f = s.fish[i];
    if (on_front(f.row, f.col)) terminal = true;
    if (f.move_countdown == 0) {
      f.move_countdown = s.enemy_move_interval;
      f.col += f.dir;
      if (off_grid(f.col)) {
        s.fish.erase(i);
      } else if (on_front(f.row, f.col)) {
        terminal = true;
      } else if (const int b = oldest_at(s.friendly_bullets, f.row, f.col); b >= 0) {
        s.friendly_bullets.erase(b);
        s.fish.erase(i);
        ++reward;
      }
    } else {
      --f.move_countdown;
    }
  }

  // Rule 10: countdowns.
  if (s.enemy_spawn_countdown > 0) --s.enemy_spawn_countdown;
  if (s.diver_spawn_countdown > 0) --s.diver_spawn_countdown;
  if (s.shot_cooldown > 0) --s.shot_cooldown;

  // Rule 11: oxygen and surfacing. The oxygen check precedes the decrement, so surfacing on
  // the step that finds O <= 0 does not save the player (the surfacing itself still runs).
  if (s.oxygen <= 0) terminal = true;
  if (s.row > 0) {
    --s.oxygen;
    s.surfaced = false;
  } else if (!s.surfaced) {
    if (s.divers_carried == 0) {
      terminal = true;
    } else {
      s.surfaced = true;
      int bonus = 0;
      if (s.divers_carried == kMaxDiversCarried) {
        bonus = s.oxygen * 10 / kMaxOxygen;
        s.divers_carried = 0;
      }
      s.oxygen = kMaxOxygen;
      --s.divers_carried;  // quirk: after a full load this leaves -1
      ramp();
      reward += bonus;
    }
  }

  StepOutcome out;
  out.reward = static_cast<float>(reward);
  out.terminated = terminal;
  return out;
}

void Seaquest::write_planes(uint8_t* obs) const {
  const State& s = s_;
  set(obs, kSubFront, s.row, s.col);
  set(obs, kSubBack, s.row, s.col - s.facing);
  auto trail = [&](int row, int col, int dir) {
    if (!off_grid(col - dir)) set(obs, kTrail, row, col - dir);
  };
  for (const Bullet& b : s.friendly_bullets) set(obs, kFriendlyBullet, b.row, b.col);
  for (const Bullet& b : s.enemy_bullets) set(obs, kEnemyBullet, b.row, b.col);
  for (const Mover& f : s.fish) {
    set(obs, kFish, f.row, f.col);
    trail(f.row, f.col, f.dir);
  }
  for (const EnemySub& e : s.subs) {
    set(obs, kEnemySub, e.row, e.col);
    trail(e.row, e.col, e.dir);
  }
  for (const Mover& d : s.divers) {
    set(obs, kDiver, d.row, d.col);
    trail(d.row, d.col, d.dir);
  }
  const int oxygen_cells = std::max(s.oxygen, 0) / 20;
  for (int c = 0; c < oxygen_cells; ++c) set(obs, kOxygenGauge, kSize - 1, c);
  if (s.divers_carried >= 1 && s.divers_carried <= kMaxDiversCarried)
    for (int c = kSize - 1 - s.divers_carried; c < kSize - 1; ++c) set(obs, kDiverGauge, kSize - 1, c);
}

}  // namespace imagine::envs::minatar
