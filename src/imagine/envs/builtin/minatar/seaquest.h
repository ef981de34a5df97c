#pragma once
// MinAtar Seaquest (minatar-rules.md section 5), quirks included: the diver count can go
// negative after a full-load surfacing, subs removed in their move phase still shoot, and
// only the submarine's front cell collides.
#include <c10/util/Exception.h>

#include <array>
#include <cstdint>

#include "imagine/envs/builtin/minatar/minatar_game.h"

namespace imagine::envs::minatar {

// A list kept in creation order (oldest first) with fixed capacity, so that stepping never
// allocates. erase() shifts the newer items down, preserving the order.
template <class T, int N>
class FixedList {
 public:
  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  static constexpr int capacity() { return N; }
  T& operator[](int i) { return items_[static_cast<size_t>(i)]; }
  const T& operator[](int i) const { return items_[static_cast<size_t>(i)]; }
  T* begin() { return items_.data(); }
  T* end() { return items_.data() + n_; }
  const T* begin() const { return items_.data(); }
  const T* end() const { return items_.data() + n_; }
  void clear() { n_ = 0; }
  void push_back(const T& item) {
    TORCH_CHECK(n_ < N, "FixedList capacity ", N, " exceeded");
    items_[static_cast<size_t>(n_++)] = item;
  }
  void erase(int i) {
    for (int j = i; j + 1 < n_; ++j) items_[static_cast<size_t>(j)] = items_[static_cast<size_t>(j + 1)];
    --n_;
  }

 private:
  std::array<T, N> items_{};
  int n_ = 0;
};

class Seaquest : public MinAtarGame {
 public:
  // Headings: +1 right, -1 left.
  struct Bullet {
    int row = 0, col = 0, dir = 0;
  };
  struct Mover {  // a fish or a diver
    int row = 0, col = 0, dir = 0, move_countdown = 0;
  };
  struct EnemySub {
    int row = 0, col = 0, dir = 0, move_countdown = 0, shot_countdown = 0;
  };

  // Capacities from the rules' timing (5.7): an enemy leaves the grid at most 59 steps after
  // spawning and at most one spawns per step, so at most 60 enemies exist; each sub fires at
  // most once per 11 steps and a bullet lives at most 10 steps; a friendly bullet is fired at
  // most every 5 steps and lives at most 9 steps; divers spawn every 30 steps.
  static constexpr int kMaxEnemies = 64;
  static constexpr int kMaxEnemyBullets = 128;
  static constexpr int kMaxFriendlyBullets = 8;
  static constexpr int kMaxDivers = 8;
  static constexpr int kMaxOxygen = 200;
  static constexpr int kMaxDiversCarried = 6;
  static constexpr int kDiverSpawnInterval = 30;

  // The whole game state (section 5.1). Public so that rule tests can set up situations.
  struct State {
    int row = 0, col = 5;  // front cell
    int facing = -1;       // back cell is (row, col - facing)
    int oxygen = kMaxOxygen;
    int divers_carried = 0;  // can go negative (quirk 5.8)
    bool surfaced = true;
    int shot_cooldown = 0;
    FixedList<Bullet, kMaxFriendlyBullets> friendly_bullets;
    FixedList<Bullet, kMaxEnemyBullets> enemy_bullets;
    FixedList<Mover, kMaxEnemies> fish;
    FixedList<EnemySub, kMaxEnemies> subs;
    FixedList<Mover, kMaxDivers> divers;
    int enemy_spawn_interval = 20, enemy_spawn_countdown = 20;
    int diver_spawn_countdown = kDiverSpawnInterval;
    int enemy_move_interval = 5;
    int ramp_index = 0;
  };

  explicit Seaquest(const EnvOptions& options);

  // Test hooks: read or replace the state between steps (the terminal flag is not part of it).
  const State& state() const { return s_; }
  void set_state(const State& state) { s_ = state; }

 protected:
  void reset_game() override;
  StepOutcome step_game(int64_t action) override;
  void write_planes(uint8_t* obs) const override;

 private:
  void spawn_enemy();
  void spawn_diver();
  void ramp();
  bool on_front(int row, int col) const { return row == s_.row && col == s_.col; }

  State s_;
};

}  // namespace imagine::envs::minatar
