#include "imagine/envs/builtin/minatar/space_invaders.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace imagine::envs::minatar {

namespace {

enum Action : int64_t { kNoop = 0, kLeft = 1, kUp = 2, kRight = 3, kDown = 4, kFire = 5 };
enum Channel : int64_t {
  kCannon = 0,
  kAlien = 1,
  kAlienLeft = 2,
  kAlienRight = 3,
  kFriendlyBullet = 4,
  kEnemyBullet = 5,
};

constexpr int kSize = static_cast<int>(kGrid);
constexpr uint16_t kColumn0 = 1u;
constexpr uint16_t kColumn9 = 1u << 9;
constexpr uint16_t kAllColumns = (1u << 10) - 1;

GameInfo space_invaders_info() {
  GameInfo info;
  info.name = "space_invaders";
  info.channels = {"cannon", "alien", "alien_left", "alien_right", "friendly_bullet", "enemy_bullet"};
  info.minimal_actions = {0, 1, 3, 5};
  // RGB: the highest active channel wins, so aliens show in their heading's colour and
  // bullets are drawn over aliens and the cannon.
  info.palette = {{255, 215, 0}, {60, 200, 90}, {60, 140, 255}, {220, 50, 220}, {255, 255, 255}, {255, 80, 80}};
  return info;
}

// kRowBytes[mask][c] = bit c of a 10-bit row mask, for writing planes a row at a time.
using RowBytes = std::array<uint8_t, 10>;
constexpr std::array<RowBytes, 1024> make_row_bytes() {
  std::array<RowBytes, 1024> table{};
  for (size_t m = 0; m < table.size(); ++m)
    for (size_t c = 0; c < 10; ++c) table[m][c] = static_cast<uint8_t>((m >> c) & 1u);
  return table;
}
constexpr std::array<RowBytes, 1024> kRowBytes = make_row_bytes();

// Bits set in a row mask (portable: __builtin_popcount is a library call without -mpopcnt).
int popcount16(uint16_t mask) {
  unsigned x = mask;
  x = x - ((x >> 1) & 0x5555u);
  x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
  x = (x + (x >> 4)) & 0x0F0Fu;
  return static_cast<int>((x + (x >> 8)) & 0x1Fu);
}

uint16_t occupied_columns(const SpaceInvaders::Grid& grid) {
  uint16_t any = 0;
  for (uint16_t row : grid) any |= row;
  return any;
}

}  // namespace

int SpaceInvaders::count(const Grid& grid) {
  int n = 0;
  for (uint16_t row : grid) n += popcount16(row);
  return n;
}

SpaceInvaders::Grid SpaceInvaders::full_wave() {
  Grid grid{};
  for (int r = 0; r < 4; ++r) grid[static_cast<size_t>(r)] = 0b0011111100;  // columns 2-7
  return grid;
}

SpaceInvaders::SpaceInvaders(const EnvOptions& options) : MinAtarGame(space_invaders_info(), options) {}

void SpaceInvaders::reset_game() {
  s_ = State{};
  s_.aliens = full_wave();
}

StepOutcome SpaceInvaders::step_game(int64_t action) {
  State& s = s_;
  bool terminal = false;

  // Rule 2: player.
  switch (action) {
    case kFire:
      if (s.shot_cooldown == 0) {
        put(s.friendly_bullets, kSize - 1, s.cannon);
        s.shot_cooldown = kShotCooldown;
      }
      break;
    case kLeft: s.cannon = std::max(0, s.cannon - 1); break;
    case kRight: s.cannon = std::min(kSize - 1, s.cannon + 1); break;
    default: break;
  }
  const uint16_t cannon = static_cast<uint16_t>(1u << s.cannon);

  // Rule 3: friendly bullets move up; those in row 0 leave.
  for (int r = 0; r + 1 < kSize; ++r) s.friendly_bullets[static_cast<size_t>(r)] = s.friendly_bullets[static_cast<size_t>(r + 1)];
  s.friendly_bullets[kSize - 1] = 0;
  // Rule 4: enemy bullets move down; those in row 9 leave.
  for (int r = kSize - 1; r > 0; --r) s.enemy_bullets[static_cast<size_t>(r)] = s.enemy_bullets[static_cast<size_t>(r - 1)];
  s.enemy_bullets[0] = 0;
  if (s.enemy_bullets[kSize - 1] & cannon) terminal = true;
  // Rule 5.
  if (s.aliens[kSize - 1] & cannon) terminal = true;

  // Rule 6: alien move.
  if (s.move_countdown == 0) {
    s.move_countdown = std::min(count(s.aliens), s.move_interval);
    const uint16_t columns = occupied_columns(s.aliens);
    if ((s.heading < 0 && (columns & kColumn0)) || (s.heading > 0 && (columns & kColumn9))) {
      s.heading = -s.heading;
      if (s.aliens[kSize - 1]) terminal = true;
      // Down one row; row 9 wraps to row 0 (only possible on a terminal step).
      const uint16_t bottom = s.aliens[kSize - 1];
      for (int r = kSize - 1; r > 0; --r) s.aliens[static_cast<size_t>(r)] = s.aliens[static_cast<size_t>(r - 1)];
      s.aliens[0] = bottom;
    } else {
      for (uint16_t& row : s.aliens) row = static_cast<uint16_t>((s.heading < 0 ? row >> 1 : row << 1) & kAllColumns);
    }
    if (s.aliens[kSize - 1] & cannon) terminal = true;
  }

  // Rule 7: alien shot from the lowest alien of the occupied column nearest the cannon
  // (ties go to the left column).
  if (s.shot_countdown == 0) {
    s.shot_countdown = kAlienShotInterval;
    const uint16_t columns = occupied_columns(s.aliens);
    int best = -1;
    for (int c = 0; c < kSize; ++c)
      if (((columns >> c) & 1u) && (best < 0 || std::abs(c - s.cannon) < std::abs(best - s.cannon))) best = c;
    if (best >= 0) {
      for (int r = kSize - 1; r >= 0; --r)
        if (at(s.aliens, r, best)) {
          put(s.enemy_bullets, r, best);
          break;
        }
    }
  }

  // Rule 8: kills, tested once after all motion.
  int reward = 0;
  for (int r = 0; r < kSize; ++r) {
    const uint16_t hit = s.aliens[static_cast<size_t>(r)] & s.friendly_bullets[static_cast<size_t>(r)];
    if (!hit) continue;
    reward += popcount16(hit);
    s.aliens[static_cast<size_t>(r)] &= static_cast<uint16_t>(~hit);
    s.friendly_bullets[static_cast<size_t>(r)] &= static_cast<uint16_t>(~hit);
  }

  // Rule 9: countdowns.
  if (s.shot_cooldown > 0) --s.shot_cooldown;
  --s.move_countdown;
  --s.shot_countdown;

  // Rule 10: wave clear; heading, countdowns and bullets carry over.
  if (count(s.aliens) == 0) {
    if (ramping_ && s.move_interval > kMinMoveInterval) {
      --s.move_interval;
      ++s.ramp_index;
    }
    s.aliens = full_wave();
  }

  StepOutcome out;
  out.reward = static_cast<float>(reward);
  out.terminated = terminal;
  return out;
}

void SpaceInvaders::write_planes(uint8_t* obs) const {
  const State& s = s_;
  set(obs, kCannon, kSize - 1, s.cannon);
  // Whole rows at a time from a mask -> bytes table; empty rows are already zero.
  constexpr int64_t kPlane = kGrid * kGrid;
  uint8_t* alien = obs + kAlien * kPlane;
  uint8_t* heading = obs + (s.heading < 0 ? kAlienLeft : kAlienRight) * kPlane;
  uint8_t* friendly = obs + kFriendlyBullet * kPlane;
  uint8_t* enemy = obs + kEnemyBullet * kPlane;
  for (int r = 0; r < kSize; ++r) {
    const size_t row = static_cast<size_t>(r);
    const size_t offset = row * kSize;
    if (const uint16_t a = s.aliens[row]) {
      std::memcpy(alien + offset, kRowBytes[a].data(), kSize);
      std::memcpy(heading + offset, kRowBytes[a].data(), kSize);
    }
    if (const uint16_t fb = s.friendly_bullets[row]) std::memcpy(friendly + offset, kRowBytes[fb].data(), kSize);
    if (const uint16_t eb = s.enemy_bullets[row]) std::memcpy(enemy + offset, kRowBytes[eb].data(), kSize);
  }
}

}  // namespace imagine::envs::minatar
