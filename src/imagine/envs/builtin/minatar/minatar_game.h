#pragma once
// What the five MinAtar games share (minatar-rules.md section 1): the 6-action interface
// and minimal sets, sticky actions drawn from the game's own stream before the game's
// draws, the terminal-step contract, and 10 x 10 x C binary observations.
#include <array>
#include <string>
#include <vector>

#include "imagine/core/rng.h"
#include "imagine/envs/env_options.h"
#include "imagine/envs/grid_game.h"

namespace imagine::envs::minatar {

inline constexpr int64_t kGrid = 10;
inline const std::array<const char*, 6> kActionNames = {"noop", "left", "up", "right", "down", "fire"};
using Colour = std::array<uint8_t, 3>;

struct GameInfo {
  std::string name;                  // e.g. "breakout"
  std::vector<std::string> channels;  // channel names, index order
  std::vector<int64_t> minimal_actions;
  std::vector<Colour> palette;  // one colour per channel; the highest active channel wins
};

class MinAtarGame : public GridGame {
 public:
  MinAtarGame(GameInfo info, const EnvOptions& options);
  const EnvSpec& spec() const override { return spec_; }
  void seed(uint64_t seed) override { rng_.reseed(seed); }
  void reset(uint8_t* obs) override;
  StepOutcome step(int64_t action, uint8_t* obs) override;
  void cell_colours(uint8_t* rgb) const override;

  // For rule tests: the action executed last (after sticky actions and mapping).
  int64_t last_executed_action() const { return last_action_; }

 protected:
  // Puts the game in its initial state (may draw from rng_).
  virtual void reset_game() = 0;
  // Advances one step with an executed action in 0..5; sets terminated (and, for
  // Freeway's time limit, truncated). Called only while the game is not terminal.
  virtual StepOutcome step_game(int64_t action) = 0;
  // Sets the planes of the current state: obs is C x 10 x 10, already zeroed.
  virtual void write_planes(uint8_t* obs) const = 0;

  static void set(uint8_t* obs, int64_t channel, int64_t row, int64_t col) {
    obs[(channel * kGrid + row) * kGrid + col] = 1;
  }

  Rng rng_;
  bool ramping_;

 private:
  void write_obs(uint8_t* obs) const;
  GameInfo info_;
  EnvSpec spec_;
  double sticky_prob_;
  bool minimal_;
  bool terminal_ = false;
  int64_t last_action_ = 0;
  mutable std::vector<uint8_t> scratch_;
  std::vector<Colour> top_palette_;  // black, then palette: indexed by 1 + top channel
};

}  // namespace imagine::envs::minatar
